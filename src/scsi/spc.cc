// Primary commands (SPC-4): identification, sense, mode pages, reservations, REPORT LUNS and
// REPORT SUPPORTED OPERATION CODES.
#include <algorithm>
#include <fmt/format.h>

#include "base/crc32c.h"
#include "scsi/logical_unit.h"

namespace cstor::scsi {
namespace {

std::string Trim(std::string data, uint64_t allocation) {
  if (data.size() > allocation) data.resize(allocation);
  return data;
}

std::string Padded(std::string_view s, size_t n) {
  std::string out(s.substr(0, n));
  out.resize(n, ' ');
  return out;
}

// A designation descriptor of the device identification page (SPC-4 7.8.6.1).
std::string Designator(uint8_t code_set, uint8_t association, uint8_t type, std::string_view id) {
  std::string d(4, '\0');
  d[0] = static_cast<char>(code_set | (association == 1 ? 0x50 : 0));  // iSCSI protocol, PIV
  d[1] = static_cast<char>(0x80 * (association == 1) | (association << 4) | type);
  d[3] = static_cast<char>(id.size());
  return d + std::string(id);
}

constexpr uint8_t kSupportedVpd[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};

}  // namespace

void LogicalUnit::TestUnitReady(const TaskPtr& t) { Finish(t, Response::Good()); }

void LogicalUnit::RequestSense(const TaskPtr& t) {
  const bool desc = t->cmd.cdb[1] & 0x01;
  Sense s;  // NO SENSE unless a unit attention is pending
  auto it = unit_attentions_.find(t->cmd.nexus);
  if (it != unit_attentions_.end() && !it->second.empty()) {
    s = it->second.front();
    it->second.erase(it->second.begin());
  }
  std::string data;
  if (desc) {
    data.assign(8, '\0');
    data[0] = 0x72;
    data[1] = static_cast<char>(s.key);
    data[2] = static_cast<char>(s.asc);
    data[3] = static_cast<char>(s.ascq);
  } else {
    data = s.Encode();
  }
  Finish(t, Response::Good(Trim(std::move(data), t->cmd.cdb[4])));
}

void LogicalUnit::Inquiry(const TaskPtr& t) {
  const auto& cdb = t->cmd.cdb;
  const uint64_t allocation = GetBE(cdb.data() + 3, 2);
  if (!(cdb[1] & 0x01)) {
    if (cdb[2] != 0) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(2)));
    std::string d(74, '\0');
    d[2] = 0x06;  // SPC-4
    d[3] = 0x12;  // HISUP, response data format 2
    d[4] = static_cast<char>(d.size() - 5);
    d[7] = 0x02;  // CMDQUE
    d.replace(8, 8, Padded(options_.vendor, 8));
    d.replace(16, 16, Padded(options_.product, 16));
    d.replace(32, 4, Padded(options_.revision, 4));
    // Version descriptors: SAM-5, iSCSI, SPC-4, SBC-3.
    const uint16_t versions[] = {0x00a0, 0x0960, 0x0460, 0x04c0};
    for (size_t i = 0; i < std::size(versions); i++) PutBE(&d, 58 + 2 * i, versions[i], 2);
    return Finish(t, Response::Good(Trim(std::move(d), allocation)));
  }
  bool found = false;
  std::string page = VpdPage(cdb[2], &found);
  if (!found) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(2)));
  Finish(t, Response::Good(Trim(std::move(page), allocation)));
}

std::string LogicalUnit::VpdPage(uint8_t code, bool* found) const {
  *found = true;
  std::string body;
  switch (code) {
    case 0x00:
      body.assign(std::begin(kSupportedVpd), std::end(kSupportedVpd));
      break;
    case 0x80:
      body = info_.serial;
      break;
    case 0x83: {
      // A T10 vendor id, a locally assigned NAA name (both unique to the device), and the
      // target port's relative identifier and SCSI name.
      body += Designator(2, 0, 1, Padded(options_.vendor, 8) + info_.serial);
      std::string naa(8, '\0');
      uint64_t h = (uint64_t{crc32c::Value(info_.serial.data(), info_.serial.size())} << 32) |
                   crc32c::Value(options_.product.data(), options_.product.size());
      PutBE(&naa, 0, (uint64_t{0x3} << 60) | (h & 0x0fffffffffffffff), 8);
      body += Designator(1, 0, 3, naa);
      std::string rel(4, '\0');
      PutBE(&rel, 2, 1, 2);
      body += Designator(1, 1, 4, rel);
      if (!options_.target_port_name.empty()) {
        std::string name = options_.target_port_name + '\0';
        name.resize((name.size() + 3) / 4 * 4, '\0');
        body += Designator(3, 1, 8, name);
      }
      break;
    }
    case 0xb0: {  // block limits
      body.assign(0x3c, '\0');
      body[0] = 0x01;                          // WSNZ: WRITE SAME of zero blocks is refused
      body[1] = static_cast<char>(kMaxCompareAndWriteBlocks);
      PutBE(&body, 2, info_.physical_block_size / bdev::kSectorSize, 2);  // optimal granularity
      PutBE(&body, 4, options_.max_transfer_blocks, 4);
      PutBE(&body, 8, kMaxDeviceIo / bdev::kSectorSize, 4);  // optimal transfer length
      PutBE(&body, 16, kMaxUnmapBlocks, 4);
      PutBE(&body, 20, kMaxUnmapDescriptors, 4);
      PutBE(&body, 24, info_.physical_block_size / bdev::kSectorSize, 4);  // unmap granularity
      PutBE(&body, 32, kMaxWriteSameBlocks, 8);
      break;
    }
    case 0xb1:  // block device characteristics
      body.assign(0x3c, '\0');
      PutBE(&body, 0, 1, 2);  // non-rotating medium
      break;
    case 0xb2:  // logical block provisioning
      body.assign(4, '\0');
      if (info_.thin) {
        body[1] = static_cast<char>(0x80 | 0x40 | 0x20 | 0x04);  // LBPU, LBPWS, LBPWS10, LBPRZ
        body[2] = 0x02;                                          // thin provisioned
      }
      break;
    default:
      *found = false;
      return {};
  }
  std::string page(4, '\0');
  page[1] = static_cast<char>(code);
  PutBE(&page, 2, body.size(), 2);
  return page + body;
}

// ---- mode pages ----

std::string LogicalUnit::ModePages(uint8_t page, uint8_t subpage, uint8_t control,
                                   bool* found) const {
  const bool changeable = control == 1;
  auto make = [&](uint8_t code) {
    std::string p;
    switch (code) {
      case 0x01:  // read-write error recovery: automatic reallocation on read and write
        p.assign(12, '\0');
        if (!changeable) p[2] = static_cast<char>(0xc0);
        break;
      case 0x08:  // caching
        p.assign(20, '\0');
        if (changeable || (control == 0 ? write_cache_ : true)) p[2] = 0x04;  // WCE
        break;
      case 0x0a:  // control
        p.assign(12, '\0');
        if (!changeable) {
          p[3] = 0x10;                 // QUEUE ALGORITHM MODIFIER: unrestricted reordering
          PutBE(&p, 8, 0xffff, 2);     // busy timeout: unlimited
        }
        break;
      case 0x1c:  // informational exceptions: disabled
        p.assign(12, '\0');
        if (!changeable) p[2] = 0x08;  // DEXCPT
        break;
    }
    p[0] = static_cast<char>(code);
    p[1] = static_cast<char>(p.size() - 2);
    return p;
  };
  *found = true;
  const uint8_t all[] = {0x01, 0x08, 0x0a, 0x1c};
  if (page == 0x3f && (subpage == 0x00 || subpage == 0xff)) {
    std::string out;
    for (uint8_t c : all) out += make(c);
    return out;
  }
  if (subpage == 0 && std::find(std::begin(all), std::end(all), page) != std::end(all)) {
    return make(page);
  }
  *found = false;
  return {};
}

void LogicalUnit::ModeSense(const TaskPtr& t) {
  const auto& cdb = t->cmd.cdb;
  const bool ten = cdb[0] == 0x5a;
  const bool dbd = cdb[1] & 0x08;
  const bool long_lba = ten && (cdb[1] & 0x10);
  const uint8_t control = cdb[2] >> 6, page = cdb[2] & 0x3f, subpage = cdb[3];
  const uint64_t allocation = ten ? GetBE(cdb.data() + 7, 2) : cdb[4];
  if (control == 3) return Finish(t, Response::Check(Sense::SavingParametersNotSupported()));
  bool found = false;
  std::string pages = ModePages(page, subpage, control, &found);
  if (!found) {
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(subpage != 0 ? 3 : 2)));
  }
  std::string desc;
  if (!dbd) {
    if (long_lba) {
      desc.assign(16, '\0');
      PutBE(&desc, 0, blocks(), 8);
      PutBE(&desc, 12, bdev::kSectorSize, 4);
    } else {
      desc.assign(8, '\0');
      PutBE(&desc, 0, std::min<uint64_t>(blocks(), 0xffffffff), 4);
      PutBE(&desc, 5, bdev::kSectorSize, 3);
    }
  }
  const uint8_t device_specific = static_cast<uint8_t>((options_.read_only ? 0x80 : 0) | 0x10);
  std::string out;
  if (ten) {
    out.assign(8, '\0');
    out[3] = static_cast<char>(device_specific);
    out[4] = static_cast<char>(long_lba && !dbd ? 0x01 : 0);
    PutBE(&out, 6, desc.size(), 2);
    out += desc + pages;
    PutBE(&out, 0, out.size() - 2, 2);
  } else {
    out.assign(4, '\0');
    out[2] = static_cast<char>(device_specific);
    out[3] = static_cast<char>(desc.size());
    out += desc + pages;
    out[0] = static_cast<char>(std::min<size_t>(out.size() - 1, 0xff));
  }
  Finish(t, Response::Good(Trim(std::move(out), allocation)));
}

void LogicalUnit::ModeSelect(const TaskPtr& t) {
  const auto& cdb = t->cmd.cdb;
  const bool ten = cdb[0] == 0x55;
  if (cdb[1] & 0x01) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(1, 0)));  // SP
  const uint64_t length = ten ? GetBE(cdb.data() + 7, 2) : cdb[4];
  const std::string_view p = std::string_view(t->cmd.data_out).substr(0, length);
  if (length == 0) return Finish(t, Response::Good());
  const size_t header = ten ? 8 : 4;
  if (p.size() < header || p.size() < length) {
    return Finish(t, Response::Check(Sense::ParameterListLengthError()));
  }
  const size_t desc_len = ten ? GetBE(p, 6, 2) : static_cast<uint8_t>(p[3]);
  size_t at = header + desc_len;
  if (at > p.size()) return Finish(t, Response::Check(Sense::ParameterListLengthError()));
  if (desc_len >= 8 && GetBE(p, at - 3, 3) != bdev::kSectorSize) {
    return Finish(t, Response::Check(Sense::InvalidFieldInParameterList(at - 3)));
  }
  bool wce = write_cache_;
  while (at < p.size()) {
    if (at + 2 > p.size()) return Finish(t, Response::Check(Sense::ParameterListLengthError()));
    const uint8_t code = p[at] & 0x3f;
    const size_t plen = static_cast<uint8_t>(p[at + 1]) + 2;
    bool found = false;
    std::string current = ModePages(code, 0, 0, &found);
    std::string mask = ModePages(code, 0, 1, &found);
    if (!found || (p[at] & 0x40)) {
      return Finish(t, Response::Check(Sense::InvalidFieldInParameterList(at)));
    }
    if (plen != current.size() || at + plen > p.size()) {
      return Finish(t, Response::Check(Sense::InvalidFieldInParameterList(at + 1)));
    }
    for (size_t i = 2; i < plen; i++) {
      uint8_t diff = static_cast<uint8_t>(p[at + i] ^ current[i]) & ~static_cast<uint8_t>(mask[i]);
      if (diff != 0) return Finish(t, Response::Check(Sense::InvalidFieldInParameterList(at + i)));
    }
    if (code == 0x08) wce = p[at + 2] & 0x04;
    at += plen;
  }
  if (wce != write_cache_) {
    write_cache_ = wce;
    for (const auto& n : nexuses_seen_) {
      if (n != t->cmd.nexus) unit_attentions_[n].push_back(Sense::ModeParametersChanged());
    }
  }
  Finish(t, Response::Good());
}

void LogicalUnit::StartStopUnit(const TaskPtr& t) {
  // A virtual disk cannot spin down or eject; power conditions are accepted and ignored.
  if ((t->cmd.cdb[4] & 0x02) && !(t->cmd.cdb[4] & 0x01) && (t->cmd.cdb[4] >> 4) == 0) {
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(4, 1)));  // LOEJ: no medium to eject
  }
  Finish(t, Response::Good());
}

void LogicalUnit::PreventAllow(const TaskPtr& t) { Finish(t, Response::Good()); }

void LogicalUnit::Reserve(const TaskPtr& t) {
  if (pr_.HasRegistrations()) return Finish(t, Response::Conflict());
  if (spc2_holder_ && *spc2_holder_ != t->cmd.nexus) return Finish(t, Response::Conflict());
  spc2_holder_ = t->cmd.nexus;
  Finish(t, Response::Good());
}

void LogicalUnit::Release(const TaskPtr& t) {
  if (pr_.HasRegistrations()) return Finish(t, Response::Conflict());
  if (spc2_holder_ == t->cmd.nexus) spc2_holder_.reset();
  Finish(t, Response::Good());
}

void LogicalUnit::ReportLuns(const TaskPtr& t) {
  const auto& cdb = t->cmd.cdb;
  const uint64_t allocation = GetBE(cdb.data() + 6, 4);
  if (cdb[2] > 0x02) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(2)));
  if (allocation < 16) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(6)));
  std::string out(16, '\0');
  PutBE(&out, 0, 8, 4);  // one LUN: 0
  Finish(t, Response::Good(Trim(std::move(out), allocation)));
}

void LogicalUnit::ReportSupportedOpcodes(const TaskPtr& t) {
  const auto& cdb = t->cmd.cdb;
  const bool timeouts = cdb[2] & 0x80;
  const uint8_t options = cdb[2] & 0x07;
  const uint8_t opcode = cdb[3];
  const uint16_t sa = static_cast<uint16_t>(GetBE(cdb.data() + 4, 2));
  const uint64_t allocation = GetBE(cdb.data() + 6, 4);
  auto timeout_descriptor = [] {
    std::string d(12, '\0');
    PutBE(&d, 0, 0x0a, 2);
    PutBE(&d, 4, 30, 4);   // nominal: seconds
    PutBE(&d, 8, 60, 4);   // recommended
    return d;
  };
  std::string out;
  if (options == 0) {
    std::string body;
    for (const auto& c : CommandTable()) {
      std::string d(8, '\0');
      d[0] = static_cast<char>(c.opcode);
      if (c.service_action >= 0) PutBE(&d, 2, c.service_action, 2);
      d[5] = static_cast<char>((c.service_action >= 0 ? 0x01 : 0) | (timeouts ? 0x02 : 0));
      PutBE(&d, 6, c.cdb_length, 2);
      body += d;
      if (timeouts) body += timeout_descriptor();
    }
    out.assign(4, '\0');
    PutBE(&out, 0, body.size(), 4);
    out += body;
    return Finish(t, Response::Good(Trim(std::move(out), allocation)));
  }
  if (options > 3) return Finish(t, Response::Check(Sense::InvalidFieldInCdb(2, 2)));
  const bool has_sa = std::any_of(CommandTable().begin(), CommandTable().end(), [&](const CommandSpec& c) {
    return c.opcode == opcode && c.service_action >= 0;
  });
  if ((options == 1 && has_sa) || (options == 2 && !has_sa && FindCommand(opcode, -1))) {
    return Finish(t, Response::Check(Sense::InvalidFieldInCdb(2, 2)));
  }
  const CommandSpec* c = FindCommand(opcode, options == 1 || !has_sa ? -1 : sa);
  out.assign(4, '\0');
  if (c == nullptr) {
    out[1] = 0x01;  // not supported
  } else {
    out[1] = static_cast<char>(0x03 | (timeouts ? 0x80 : 0));
    PutBE(&out, 2, c->cdb_length, 2);
    const size_t at = out.size();
    out.append(reinterpret_cast<const char*>(c->usage.data()), c->cdb_length);
    out[at] = static_cast<char>(c->opcode);  // SPC-4: usage data starts with the opcode
    if (timeouts) out += timeout_descriptor();
  }
  Finish(t, Response::Good(Trim(std::move(out), allocation)));
}

void LogicalUnit::PersistentReserveIn(const TaskPtr& t) {
  Response r = pr_.In(t->cmd);
  r.data = Trim(std::move(r.data), GetBE(t->cmd.cdb.data() + 7, 2));
  Finish(t, std::move(r));
}

void LogicalUnit::PersistentReserveOut(const TaskPtr& t) {
  if (spc2_holder_ && *spc2_holder_ != t->cmd.nexus) return Finish(t, Response::Conflict());
  // The unit attentions SPC-4 owes the other registrants are computed but not raised:
  // initiators (libiscsi's among them) do not expect them, and clustered users learn of
  // preemption from RESERVATION CONFLICT on their next command.
  std::vector<Reservations::Attention> attentions;
  Response r = pr_.Out(t->cmd.nexus, t->cmd, &attentions);
  Finish(t, std::move(r));
}

}  // namespace cstor::scsi
