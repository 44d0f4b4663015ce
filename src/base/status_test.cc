#include "base/status.h"

#include <gtest/gtest.h>

#include "base/result.h"

namespace cstor {
namespace {

TEST(StatusTest, OkIsCheapAndEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = Status::NoSpace("pool full");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.Is(Code::kNoSpace));
  EXPECT_EQ(s.ToString(), "NoSpace: pool full");
  EXPECT_EQ(s.WithContext("write vol1").message(), "write vol1: pool full");
}

TEST(StatusTest, FromErrnoMapsCommonCodes) {
  EXPECT_TRUE(Status::FromErrno(ENOENT, "open x").Is(Code::kNotFound));
  EXPECT_TRUE(Status::FromErrno(ENOSPC, "write x").Is(Code::kNoSpace));
  EXPECT_TRUE(Status::FromErrno(EIO, "read x").Is(Code::kIoError));
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  CSTOR_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_TRUE(Quarter(6).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(Quarter(5).status().Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace cstor
