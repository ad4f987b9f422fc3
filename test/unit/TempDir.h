#ifndef MATC_TEST_UNIT_TEMPDIR_H
#define MATC_TEST_UNIT_TEMPDIR_H

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace matc::test {

// A fresh directory for one test's files, removed with everything in it.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "matc-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()))
      root = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!root.empty())
      std::filesystem::remove_all(root, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  bool valid() const { return !root.empty(); }
  std::string path(const std::string &name) const {
    return (std::filesystem::path(root) / name).string();
  }
  const std::string &dir() const { return root; }

private:
  std::string root;
};

} // namespace matc::test

#endif // MATC_TEST_UNIT_TEMPDIR_H
