#include "matrt/Tokens.h"

#include <gtest/gtest.h>

using namespace matrt;
using matc::spec::Diagnostics;

TEST(TokensTest, ByteTokenizerRoundTripsAnyBytes) {
  std::string text = "h\xc3\xa9llo\n";
  text += '\0';
  text += "\xff";
  std::vector<int32_t> tokens = encodeBytes(text);
  ASSERT_EQ(tokens.size(), text.size());
  EXPECT_EQ(tokens[0], 'h');
  EXPECT_EQ(tokens[1], 0xc3); // bytes are unsigned, never negative
  EXPECT_EQ(tokens.back(), 255);
  EXPECT_EQ(decodeBytes(tokens), text);
  EXPECT_TRUE(encodeBytes("").empty());
}

TEST(TokensTest, ParsesCommaSeparatedIds) {
  std::string error;
  auto tokens = parseTokenList("1,2, 30 ,-4", "--tokens", error);
  ASSERT_TRUE(tokens) << error;
  EXPECT_EQ(*tokens, (std::vector<int32_t>{1, 2, 30, -4}));
  EXPECT_EQ(formatTokenList(*tokens), "1,2,30,-4");
  EXPECT_EQ(formatTokenList({}), "");
}

TEST(TokensTest, MalformedListsNameTheEntry) {
  for (const char *text :
       {"", "1,,2", "1,x", "1,2,", "+3", "0x10", "1 2", "99999999999", "-"}) {
    std::string error;
    EXPECT_FALSE(parseTokenList(text, "--tokens", error)) << text;
    EXPECT_NE(error.find("--tokens: entry"), std::string::npos) << error;
  }
  std::string error;
  parseTokenList("5,6,abc", "--tokens", error);
  EXPECT_NE(error.find("entry 2 is 'abc'"), std::string::npos) << error;
}

TEST(TokensTest, RangeErrorsNamePositionAndValue) {
  Diagnostics diags;
  EXPECT_TRUE(checkTokenRange({0, 255}, 256, "--tokens", diags));
  EXPECT_FALSE(checkTokenRange({1, 256, 3, -1}, 256, "--tokens", diags));
  std::string text = diags.str();
  EXPECT_NE(text.find("--tokens: token 1 is 256, outside the vocabulary: "
                      "expected 0..255"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("token 3 is -1"), std::string::npos) << text;
}

TEST(TokensTest, ManyRangeErrorsAreSummarized) {
  Diagnostics diags;
  EXPECT_FALSE(
      checkTokenRange(std::vector<int32_t>(100, 999), 256, "--tokens", diags));
  EXPECT_EQ(diags.all().size(), 6u);
  EXPECT_NE(diags.str().find("95 more tokens"), std::string::npos);
}
