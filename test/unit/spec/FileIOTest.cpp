#include "matc/spec/FileIO.h"

#include "SpecTestSupport.h"
#include "TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>

using matc::spec::AtomicFileWriter;
using matc::spec::Diagnostics;
using matc::spec::readFile;
using matc::spec::writeFileAtomically;
using matc::test::hasError;
using matc::test::TempDir;

namespace {

std::vector<std::string> filesIn(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  return names;
}

} // namespace

TEST(FileIOTest, WritesAndReadsBackBinaryBytes) {
  TempDir tmp;
  ASSERT_TRUE(tmp.valid());
  std::string bytes("a\0b\xff\n", 5);
  Diagnostics diags;
  ASSERT_TRUE(writeFileAtomically(tmp.path("out.bin"), bytes, diags))
      << diags.str();
  std::string readBack;
  ASSERT_TRUE(readFile(tmp.path("out.bin"), readBack, diags));
  EXPECT_EQ(readBack, bytes);
  EXPECT_EQ(filesIn(tmp.dir()), std::vector<std::string>{"out.bin"});
}

TEST(FileIOTest, ReplacesAnExistingFile) {
  TempDir tmp;
  Diagnostics diags;
  ASSERT_TRUE(writeFileAtomically(tmp.path("f"), "old contents", diags));
  ASSERT_TRUE(writeFileAtomically(tmp.path("f"), "new", diags));
  std::string readBack;
  ASSERT_TRUE(readFile(tmp.path("f"), readBack, diags));
  EXPECT_EQ(readBack, "new");
}

TEST(FileIOTest, MissingFileIsAnErrorNamingThePath) {
  TempDir tmp;
  Diagnostics diags;
  std::string contents = "stale";
  EXPECT_FALSE(readFile(tmp.path("absent.json"), contents, diags));
  EXPECT_TRUE(hasError(diags, {tmp.path("absent.json"), "cannot open"}));
  EXPECT_EQ(contents, "");
}

TEST(FileIOTest, DirectoryIsNotReadable) {
  TempDir tmp;
  Diagnostics diags;
  std::string contents;
  EXPECT_FALSE(readFile(tmp.dir(), contents, diags));
  EXPECT_TRUE(hasError(diags, {tmp.dir()}));
}

TEST(FileIOTest, UnwritableDirectoryIsAnErrorAndLeavesNothing) {
  TempDir tmp;
  Diagnostics diags;
  std::string target = tmp.path("no-such-dir/out.bin");
  EXPECT_FALSE(writeFileAtomically(target, "x", diags));
  EXPECT_TRUE(hasError(diags, {target}));
  EXPECT_TRUE(filesIn(tmp.dir()).empty());
}

TEST(FileIOTest, UncommittedWriterLeavesNoFile) {
  TempDir tmp;
  Diagnostics diags;
  {
    AtomicFileWriter writer(tmp.path("partial.bin"), diags);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer.write("half", 4));
    EXPECT_EQ(filesIn(tmp.dir()).size(), 1u); // only the temporary
  }
  EXPECT_TRUE(filesIn(tmp.dir()).empty());
  EXPECT_FALSE(diags.hasErrors());
}
