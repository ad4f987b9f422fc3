//===- matc-reference.cpp - The end-to-end tests' independent reference ---===//
//
// Computes Mix'n'Match logits in double precision with plain loops
// (ReferenceModel.cpp) and judges what compiled programs print and write:
//   logits    the reference logits, as '<f8' .npy (or '<f4' with --dtype f32)
//   compare   ||out - ref|| / ||ref|| of a compiled `forward`'s .npy
//   greedy    a compiled `generate --temperature 0 --print-tokens` sequence
//   generate  the reference's own greedy tokens
//   zero      test only: the checkpoint with a mix's unused neurons zeroed
//   slice     test only: the sliced submodel, as `matc extract` writes it
// Exit status: 0 ok, 1 user error or failed check, 2 bad usage.
//
//===----------------------------------------------------------------------===//

#include "CheckpointEdit.h"
#include "Npy.h"
#include "ReferenceModel.h"

#include "matc/spec/Mix.h"
#include "matc/spec/ModelSpec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace matc;
using namespace matc::reference;

namespace {

enum ExitCode { kOk = 0, kUserError = 1, kUsage = 2 };

const char kUsageText[] =
    "usage:\n"
    "  matc-reference logits   --spec SPEC --weights W [--mix MIX] (--tokens IDS | --text STR)\n"
    "                          [--output REF.npy] [--dtype f64|f32] [--print]\n"
    "  matc-reference compare  --spec SPEC --weights W [--mix MIX] (--tokens IDS | --text STR)\n"
    "                          --logits OUT.npy [--tolerance X]    (default 1e-4)\n"
    "  matc-reference greedy   --spec SPEC --weights W [--mix MIX] (--tokens IDS | --text STR)\n"
    "                          --generated IDS\n"
    "  matc-reference generate --spec SPEC --weights W [--mix MIX] (--tokens IDS | --text STR)\n"
    "                          --max-new-tokens N\n"
    "  matc-reference zero     --spec SPEC --weights W --mix MIX --output W2.safetensors\n"
    "  matc-reference slice    --spec SPEC --weights W --mix MIX --output-dir DIR\n"
    "IDS is a comma-separated list of token ids; --text uses the bytes of STR.\n"
    "logits writes float64 ('<f8') .npy unless --dtype f32; --print writes one\n"
    "line of %.17g values per token to stdout.\n";

int usage(const std::string &problem) {
  std::fprintf(stderr, "matc-reference: %s\n%s", problem.c_str(), kUsageText);
  return kUsage;
}

void printDiagnostics(const spec::Diagnostics &diags) {
  std::fputs(diags.str().c_str(), stderr);
}

struct Command {
  std::string name;
  std::set<std::string> required;
  std::set<std::string> optional;
};

const Command kCommands[] = {
    {"logits", {"--spec", "--weights"},
     {"--mix", "--tokens", "--text", "--output", "--dtype", "--print"}},
    {"compare", {"--spec", "--weights", "--logits"},
     {"--mix", "--tokens", "--text", "--tolerance"}},
    {"greedy", {"--spec", "--weights", "--generated"},
     {"--mix", "--tokens", "--text"}},
    {"generate", {"--spec", "--weights", "--max-new-tokens"},
     {"--mix", "--tokens", "--text"}},
    {"zero", {"--spec", "--weights", "--mix", "--output"}, {}},
    {"slice", {"--spec", "--weights", "--mix", "--output-dir"}, {}},
};

using Flags = std::map<std::string, std::string>;

// Parses `--flag value` and `--flag=value`; `--print` takes no value.
// Returns kOk or kUsage.
int parseFlags(const Command &command, int argc, char **argv, Flags &flags) {
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasValue = false;
    std::size_t equals = arg.find('=');
    if (arg.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
      hasValue = true;
    }
    if (!command.required.count(arg) && !command.optional.count(arg))
      return usage("'" + command.name + "' does not take '" + arg + "'");
    if (flags.count(arg))
      return usage("'" + arg + "' given twice");
    if (arg == "--print") {
      if (hasValue)
        return usage("'--print' takes no value");
    } else if (!hasValue) {
      if (i + 1 >= argc)
        return usage("'" + arg + "' needs a value");
      value = argv[++i];
    }
    flags[arg] = value;
  }
  for (const std::string &flag : command.required)
    if (!flags.count(flag))
      return usage("'" + command.name + "' needs '" + flag + "'");
  bool tokenCommand = command.optional.count("--tokens") != 0;
  if (tokenCommand && flags.count("--tokens") == flags.count("--text"))
    return usage("'" + command.name + "' needs exactly one of '--tokens' and "
                                      "'--text'");
  return kOk;
}

// "1,2,3": non-negative ids below `vocab`, reported against `flag`.
std::optional<std::vector<int64_t>> parseIds(const std::string &text,
                                             const std::string &flag,
                                             int64_t vocab) {
  std::vector<int64_t> ids;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ')
      item.erase(item.begin());
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    char *end = nullptr;
    long long id = item.empty() ? -1 : std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || id < 0 || id >= vocab) {
      std::fprintf(stderr,
                   "error: %s: item %zu ('%s') is not a token id in [0, %lld)\n",
                   flag.c_str(), ids.size(), item.c_str(),
                   static_cast<long long>(vocab));
      return std::nullopt;
    }
    ids.push_back(id);
    if (comma == std::string::npos)
      return ids;
    start = comma + 1;
  }
}

// The spec, checkpoint, mix and tokens every subcommand starts from.
struct Setup {
  spec::ModelSpec spec;
  Checkpoint checkpoint;
  spec::Mix mix;
  std::vector<int64_t> tokens;
};

bool loadSetup(const Flags &flags, Setup &setup) {
  spec::Diagnostics specDiags;
  std::optional<spec::ModelSpec> spec =
      spec::loadModelSpec(flags.at("--spec"), specDiags);
  printDiagnostics(specDiags);
  if (!spec)
    return false;
  setup.spec = *spec;

  spec::Diagnostics mixDiags("--mix");
  auto mixFlag = flags.find("--mix");
  std::optional<spec::Mix> mix = spec::parseMix(
      mixFlag == flags.end() ? "" : mixFlag->second, setup.spec, mixDiags);
  printDiagnostics(mixDiags);
  if (!mix)
    return false;
  setup.mix = *mix;

  if (flags.count("--tokens")) {
    std::optional<std::vector<int64_t>> ids =
        parseIds(flags.at("--tokens"), "--tokens", setup.spec.vocabSize);
    if (!ids)
      return false;
    setup.tokens = *ids;
  } else if (flags.count("--text")) {
    for (unsigned char byte : flags.at("--text"))
      setup.tokens.push_back(byte);
    if (setup.tokens.empty()) {
      std::fprintf(stderr, "error: --text: the text is empty\n");
      return false;
    }
    for (int64_t id : setup.tokens)
      if (id >= setup.spec.vocabSize) {
        std::fprintf(stderr, "error: --text: byte %lld is not below vocab_size %lld\n",
                     static_cast<long long>(id),
                     static_cast<long long>(setup.spec.vocabSize));
        return false;
      }
  }

  spec::Diagnostics weightDiags(flags.at("--weights"));
  bool loaded = loadCheckpoint(flags.at("--weights"), setup.spec,
                               setup.checkpoint, weightDiags);
  printDiagnostics(weightDiags);
  return loaded;
}

bool checkLength(const Setup &setup, int64_t length, const char *what) {
  if (length <= setup.spec.maxPositions)
    return true;
  std::fprintf(stderr, "error: %s: %lld tokens exceed max_position_embeddings %lld\n",
               what, static_cast<long long>(length),
               static_cast<long long>(setup.spec.maxPositions));
  return false;
}

int64_t argmax(const double *row, int64_t size) {
  int64_t best = 0; // the first of equal maxima, as torch.argmax
  for (int64_t i = 1; i < size; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

int runLogits(const Flags &flags, const Setup &setup) {
  bool float32 = false;
  if (flags.count("--dtype")) {
    const std::string &dtype = flags.at("--dtype");
    if (dtype != "f32" && dtype != "f64") {
      std::fprintf(stderr, "error: --dtype: expected f32 or f64, got '%s'\n", dtype.c_str());
      return kUserError;
    }
    float32 = dtype == "f32";
  }
  if (!checkLength(setup, setup.tokens.size(), "--tokens"))
    return kUserError;
  const int64_t T = setup.tokens.size(), V = setup.spec.vocabSize;
  std::vector<double> logits =
      forwardLogits(setup.spec, setup.checkpoint, setup.mix, setup.tokens);
  int64_t nonFinite = 0;
  double maxAbs = 0;
  for (double value : logits) {
    if (!std::isfinite(value))
      ++nonFinite;
    else
      maxAbs = std::max(maxAbs, std::fabs(value));
  }
  if (flags.count("--print"))
    for (int64_t t = 0; t < T; ++t)
      for (int64_t v = 0; v < V; ++v)
        std::printf("%.17g%c", logits[t * V + v], v + 1 < V ? ' ' : '\n');
  if (nonFinite) {
    std::fprintf(stderr, "error: %s: %lld logits are not finite\n",
                 flags.at("--weights").c_str(), static_cast<long long>(nonFinite));
    return kUserError;
  }
  if (flags.count("--output")) {
    spec::Diagnostics diags(flags.at("--output"));
    bool written = writeNpy(flags.at("--output"), {T, V}, logits, float32, diags);
    printDiagnostics(diags);
    if (!written)
      return kUserError;
    std::fprintf(stderr, "logits [%lld, %lld] %s: max |logit| = %.6g, all finite\n",
                 static_cast<long long>(T), static_cast<long long>(V),
                 float32 ? "f32" : "f64", maxAbs);
  }
  return kOk;
}

int runCompare(const Flags &flags, const Setup &setup) {
  double tolerance = 1e-4;
  if (flags.count("--tolerance")) {
    const std::string &text = flags.at("--tolerance");
    char *end = nullptr;
    tolerance = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(tolerance) || tolerance < 0) {
      std::fprintf(stderr, "error: --tolerance: expected a non-negative number, got '%s'\n",
                   text.c_str());
      return kUserError;
    }
  }
  const std::string &path = flags.at("--logits");
  NpyArray out;
  spec::Diagnostics diags(path);
  bool read = readNpy(path, out, diags);
  printDiagnostics(diags);
  if (!read)
    return kUserError;
  const int64_t T = setup.tokens.size(), V = setup.spec.vocabSize;
  if (out.shape != std::vector<int64_t>{T, V}) {
    std::string shape;
    for (int64_t dim : out.shape)
      shape += (shape.empty() ? "" : ", ") + std::to_string(dim);
    std::fprintf(stderr,
                 "error: %s: shape [%s] does not match the reference's [%lld, %lld] "
                 "(tokens x vocab_size)\n",
                 path.c_str(), shape.c_str(), static_cast<long long>(T),
                 static_cast<long long>(V));
    return kUserError;
  }
  if (!checkLength(setup, T, "--tokens"))
    return kUserError;
  std::vector<double> ref =
      forwardLogits(setup.spec, setup.checkpoint, setup.mix, setup.tokens);

  double diffSquares = 0, refSquares = 0, maxAbs = 0;
  int64_t worst = 0, nonFinite = 0;
  for (int64_t i = 0; i < T * V; ++i) {
    if (!std::isfinite(out.data[i]))
      ++nonFinite;
    double diff = out.data[i] - ref[i];
    diffSquares += diff * diff;
    refSquares += ref[i] * ref[i];
    // The first NaN, if any, is the worst; otherwise the largest difference.
    if (std::isnan(maxAbs))
      continue;
    if (std::isnan(diff) || std::fabs(diff) > maxAbs) {
      maxAbs = std::fabs(diff);
      worst = i;
    }
  }
  double relative = refSquares > 0 ? std::sqrt(diffSquares / refSquares)
                                   : (diffSquares == 0 ? 0.0 : HUGE_VAL);
  std::printf("relative error ||out-ref||/||ref|| = %.6e (tolerance %.3g)\n",
              relative, tolerance);
  std::printf("max abs error = %.6e at [%lld, %lld]\n", maxAbs,
              static_cast<long long>(worst / V), static_cast<long long>(worst % V));
  if (nonFinite) {
    std::printf("FAIL: %s holds %lld non-finite values\n", path.c_str(),
                static_cast<long long>(nonFinite));
    return kUserError;
  }
  if (!(relative <= tolerance)) {
    std::printf("FAIL: relative error above tolerance\n");
    return kUserError;
  }
  std::printf("PASS\n");
  return kOk;
}

// One forward over prompt + generated[0..n-1): by causality (tested) row
// P-1+i equals the last row of a forward over prompt + generated[0..i).
int runGreedy(const Flags &flags, const Setup &setup) {
  std::optional<std::vector<int64_t>> generated =
      parseIds(flags.at("--generated"), "--generated", setup.spec.vocabSize);
  if (!generated)
    return kUserError;
  std::vector<int64_t> sequence = setup.tokens;
  sequence.insert(sequence.end(), generated->begin(), generated->end() - 1);
  if (!checkLength(setup, sequence.size(), "--tokens plus --generated"))
    return kUserError;
  std::vector<double> logits =
      forwardLogits(setup.spec, setup.checkpoint, setup.mix, sequence);
  const int64_t V = setup.spec.vocabSize;
  const int64_t P = setup.tokens.size();
  int mismatches = 0;
  for (std::size_t i = 0; i < generated->size(); ++i) {
    const double *row = logits.data() + (P - 1 + i) * V;
    int64_t best = argmax(row, V);
    double rowMaxAbs = 0;
    for (int64_t v = 0; v < V; ++v)
      rowMaxAbs = std::max(rowMaxAbs, std::fabs(row[v]));
    int64_t token = (*generated)[i];
    double margin = row[best] - row[token];
    double allowed = 1e-4 * rowMaxAbs;
    const char *verdict = token == best        ? "ok"
                          : margin <= allowed ? "ok (near-tie)"
                                              : "MISMATCH";
    if (token != best && margin > allowed)
      ++mismatches;
    std::printf("step %zu: generated %lld, reference argmax %lld, margin %.3e "
                "(allowed %.3e): %s\n",
                i, static_cast<long long>(token), static_cast<long long>(best),
                margin, allowed, verdict);
  }
  if (mismatches) {
    std::printf("FAIL: %d of %zu steps differ from the reference's greedy choice\n",
                mismatches, generated->size());
    return kUserError;
  }
  std::printf("PASS: %zu steps\n", generated->size());
  return kOk;
}

int runGenerate(const Flags &flags, const Setup &setup) {
  const std::string &text = flags.at("--max-new-tokens");
  char *end = nullptr;
  long long count = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || count < 1) {
    std::fprintf(stderr, "error: --max-new-tokens: expected a positive integer, got '%s'\n",
                 text.c_str());
    return kUserError;
  }
  if (!checkLength(setup, setup.tokens.size() + count - 1,
                   "--tokens plus --max-new-tokens"))
    return kUserError;
  std::vector<int64_t> sequence = setup.tokens;
  std::string printed;
  const int64_t V = setup.spec.vocabSize;
  for (long long i = 0; i < count; ++i) {
    std::vector<double> logits =
        forwardLogits(setup.spec, setup.checkpoint, setup.mix, sequence);
    int64_t next = argmax(logits.data() + (sequence.size() - 1) * V, V);
    sequence.push_back(next);
    printed += (i ? "," : "") + std::to_string(next);
  }
  std::printf("%s\n", printed.c_str());
  return kOk;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    return usage("missing subcommand");
  std::string name = argv[1];
  if (name == "--help" || name == "-h") {
    std::fputs(kUsageText, stdout);
    return kOk;
  }
  const Command *command = nullptr;
  for (const Command &candidate : kCommands)
    if (candidate.name == name)
      command = &candidate;
  if (!command)
    return usage("unknown subcommand '" + name + "'");
  Flags flags;
  if (int status = parseFlags(*command, argc, argv, flags))
    return status;
  if (name == "logits" && !flags.count("--output") && !flags.count("--print"))
    return usage("'logits' needs '--output' or '--print'");

  Setup setup;
  if (!loadSetup(flags, setup))
    return kUserError;

  if (name == "logits")
    return runLogits(flags, setup);
  if (name == "compare")
    return runCompare(flags, setup);
  if (name == "greedy")
    return runGreedy(flags, setup);
  if (name == "generate")
    return runGenerate(flags, setup);

  spec::Diagnostics diags(name == "zero" ? flags.at("--output")
                                         : flags.at("--output-dir"));
  bool written =
      name == "zero"
          ? writeZeroedCheckpoint(setup.spec, setup.checkpoint, setup.mix,
                                  flags.at("--output"), diags)
          : writeSlicedModel(setup.spec, setup.checkpoint, setup.mix,
                             flags.at("--output-dir"), diags);
  printDiagnostics(diags);
  return written ? kOk : kUserError;
}
