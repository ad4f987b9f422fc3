#include "matrt/FlagParser.h"

#include <gtest/gtest.h>

using namespace matrt;

namespace {

struct Flags {
  std::string weights;
  int64_t count = 7;
  uint64_t seed = 0;
  double temperature = 0;
  bool verbose = false;
  FlagParser parser;

  Flags() {
    parser.addString("--weights", &weights, "W");
    parser.addInt("--count", &count, 0, 100, "N");
    parser.addUnsigned("--seed", &seed, "S");
    parser.addDouble("--temperature", &temperature, 0, "T");
    parser.addSwitch("--verbose", &verbose);
  }
  bool parse(const std::vector<std::string> &args, std::string &error) {
    return parser.parse(args, error);
  }
};

std::string errorFor(const std::vector<std::string> &args) {
  Flags flags;
  std::string error;
  EXPECT_FALSE(flags.parse(args, error));
  return error;
}

} // namespace

TEST(FlagParserTest, ParsesValuesInBothSpellings) {
  Flags flags;
  std::string error;
  ASSERT_TRUE(
      flags.parse({"--weights", "w.safetensors", "--count=12", "--seed",
                   "18446744073709551615", "--temperature=0.7", "--verbose"},
                  error))
      << error;
  EXPECT_EQ(flags.weights, "w.safetensors");
  EXPECT_EQ(flags.count, 12);
  EXPECT_EQ(flags.seed, 18446744073709551615ull);
  EXPECT_DOUBLE_EQ(flags.temperature, 0.7);
  EXPECT_TRUE(flags.verbose);
  EXPECT_TRUE(flags.parser.given("--count"));
}

TEST(FlagParserTest, DefaultsStayWhenAbsent) {
  Flags flags;
  std::string error;
  ASSERT_TRUE(flags.parse({}, error));
  EXPECT_EQ(flags.count, 7);
  EXPECT_FALSE(flags.verbose);
  EXPECT_FALSE(flags.parser.given("--weights"));
}

TEST(FlagParserTest, ValuesMayLookLikeFlagsOrBeEmpty) {
  Flags flags;
  std::string error;
  // A value is always the next argument, so text starting with - works.
  ASSERT_TRUE(flags.parse({"--weights", "--odd-name", "--count", "0"}, error))
      << error;
  EXPECT_EQ(flags.weights, "--odd-name");
  Flags empty;
  ASSERT_TRUE(empty.parse({"--weights="}, error));
  EXPECT_TRUE(empty.parser.given("--weights"));
  EXPECT_EQ(empty.weights, "");
}

TEST(FlagParserTest, BadUsageSaysWhatIsWrong) {
  EXPECT_EQ(errorFor({"--nope", "1"}), "unknown flag --nope");
  EXPECT_EQ(errorFor({"positional"}),
            "unexpected argument 'positional'; flags start with --");
  EXPECT_EQ(errorFor({"-w", "x"}),
            "unexpected argument '-w'; flags start with --");
  EXPECT_EQ(errorFor({"--weights"}), "--weights needs a value (--weights W)");
  EXPECT_EQ(errorFor({"--count", "1", "--count", "2"}),
            "--count given more than once");
  EXPECT_EQ(errorFor({"--verbose=yes"}), "--verbose takes no value");
  EXPECT_EQ(errorFor({"--count", "abc"}),
            "--count: expected an integer from 0 to 100, got 'abc'");
  EXPECT_EQ(errorFor({"--count", "101"}),
            "--count: expected an integer from 0 to 100, got '101'");
  EXPECT_EQ(errorFor({"--count", "1.5"}),
            "--count: expected an integer from 0 to 100, got '1.5'");
  EXPECT_EQ(errorFor({"--seed", "-1"}),
            "--seed: expected an integer from 0 to 2^64-1, got '-1'");
  EXPECT_EQ(errorFor({"--seed", "18446744073709551616"}),
            "--seed: expected an integer from 0 to 2^64-1, got "
            "'18446744073709551616'");
  EXPECT_EQ(errorFor({"--temperature", "-0.5"}),
            "--temperature: expected a number >= 0, got '-0.5'");
  EXPECT_EQ(errorFor({"--temperature", "nan"}),
            "--temperature: expected a number >= 0, got 'nan'");
  EXPECT_EQ(errorFor({"--temperature", "1x"}),
            "--temperature: expected a number >= 0, got '1x'");
}

TEST(FlagParserTest, ListFlagsCollectEveryValue) {
  std::vector<std::string> mixes;
  std::string other;
  FlagParser parser;
  parser.addStringList("--mix", &mixes, "MIX");
  parser.addString("--data", &other, "FILE");
  std::string error;
  ASSERT_TRUE(parser.parse({"--mix", "S", "--data", "d", "--mix=XL,S"}, error))
      << error;
  EXPECT_EQ(mixes, (std::vector<std::string>{"S", "XL,S"}));
  EXPECT_TRUE(parser.given("--mix"));
  FlagParser again;
  std::vector<std::string> none;
  again.addStringList("--mix", &none, "MIX");
  ASSERT_TRUE(again.parse({}, error));
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(again.given("--mix"));
  EXPECT_FALSE(again.parse({"--mix"}, error));
  EXPECT_EQ(error, "--mix needs a value (--mix MIX)");
}
