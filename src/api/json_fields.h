// The JSON mapping machinery behind the typed resources. Each struct lists its fields once,
// as `f("jsonName", x.member)`, and that one list drives both parsing and serializing, so
// the two directions cannot disagree on a key.
//
// The round-trip rule. Every struct that maps a JSON object keeps the object it was parsed
// from in `raw`. Serializing starts from `raw` and overlays the modeled fields, so what this
// code does not model (managedFields, versionDetails, fields of a newer cStor) survives a
// read-modify-write. An empty modeled field (empty string, map or vector; zero; false;
// nullopt; null json; a struct with nothing set) erases its key, so clearing a field in C++
// clears it on the server. A key whose value in `raw` already equals what would be written
// (or is null where the field is empty) is left alone, so an untouched object serializes to
// exactly its input.
//
// Parsing a value of the wrong JSON type throws nlohmann::json::type_error.
//
// Adding a type, in the .cc that owns it:
//   template <> struct JsonFields<Foo> {
//     static void Visit(auto& x, auto&& f) { f("hostName", x.host_name); ... }
//   };
//   CSTOR_API_JSON_DEFINE(Foo)
// and `CSTOR_API_JSON_DECLARE(Foo);` in its header. A struct with a static `kType` (a
// top-level kind) also gets "apiVersion" and "kind" written.
//
// Thread-safety: stateless functions over values.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace cstor::api {

enum class Presence {
  kOmitEmpty,  // an empty value erases the key (Go's omitempty)
  kAlways,     // always written, even when empty (fields the API server requires)
};

// Specialized for every mapped struct, next to its to_json/from_json definitions.
template <class T>
struct JsonFields;

namespace json_detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <class T>
nlohmann::json Encode(const T& v) {
  if constexpr (IsOptional<T>::value) {
    return v.has_value() ? nlohmann::json(*v) : nlohmann::json();
  } else {
    return nlohmann::json(v);
  }
}

// `encoded` is Encode(v); it decides for structs, which have no empty() of their own.
template <class T>
bool IsEmpty(const T& v, const nlohmann::json& encoded) {
  if constexpr (IsOptional<T>::value) {
    return !v.has_value();
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    return v.is_null();
  } else if constexpr (std::is_arithmetic_v<T>) {
    return v == T{};
  } else if constexpr (requires { v.empty(); }) {
    return v.empty();
  } else {
    return encoded.is_object() && encoded.empty();
  }
}

inline void RequireObject(const nlohmann::json& j) {
  if (!j.is_object()) {
    throw nlohmann::json::type_error::create(
        302, std::string("type must be object, but is ") + j.type_name(), &j);
  }
}

}  // namespace json_detail

// Reads j[key] into field; a missing or null key resets field to its default.
template <class T>
void Get(const nlohmann::json& j, std::string_view key, T& field) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    field = T{};
  } else if constexpr (json_detail::IsOptional<T>::value) {
    field = it->template get<typename T::value_type>();
  } else {
    field = it->template get<T>();
  }
}

// Writes field to j[key] following the round-trip rule above. j must be an object.
template <class T>
void Put(nlohmann::json& j, std::string_view key, const T& field,
         Presence presence = Presence::kOmitEmpty) {
  nlohmann::json encoded = json_detail::Encode(field);
  const bool erase =
      presence == Presence::kOmitEmpty && json_detail::IsEmpty(field, encoded);
  auto it = j.find(key);
  if (it != j.end() && (*it == encoded || (erase && it->is_null()))) return;
  if (!erase) {
    j[key] = std::move(encoded);
  } else if (it != j.end()) {
    j.erase(it);
  }
}

template <class T>
void ReadObject(const nlohmann::json& j, T& x) {
  json_detail::RequireObject(j);
  x.raw = j;
  JsonFields<T>::Visit(x, [&j](std::string_view key, auto& field,
                               Presence = Presence::kOmitEmpty) { Get(j, key, field); });
}

template <class T>
void WriteObject(nlohmann::json& j, const T& x) {
  j = x.raw.is_object() ? x.raw : nlohmann::json::object();
  if constexpr (requires { T::kType; }) {
    j["apiVersion"] = T::kType.ApiVersion();
    j["kind"] = std::string(T::kType.kind);
  }
  JsonFields<T>::Visit(x, [&j](std::string_view key, const auto& field,
                               Presence presence = Presence::kOmitEmpty) {
    Put(j, key, field, presence);
  });
}

}  // namespace cstor::api

// Declares the ADL conversion functions nlohmann::json finds for T (in T's namespace).
#define CSTOR_API_JSON_DECLARE(T)                    \
  void to_json(nlohmann::json& j, const T& x);       \
  void from_json(const nlohmann::json& j, T& x)

// Defines them from JsonFields<T>; use after the specialization.
#define CSTOR_API_JSON_DEFINE(T)                                       \
  void to_json(nlohmann::json& j, const T& x) { WriteObject(j, x); }   \
  void from_json(const nlohmann::json& j, T& x) { ReadObject(j, x); }
