//===- matc.cpp - the matc command line ------------------------------------===//
//
// A thin shell over the compiler library (matc/Codegen/Compiler.h). Exit
// status: 0 success, 1 user error (message names the file, field or tensor),
// 2 bad usage.
//
//===----------------------------------------------------------------------===//
#include "ExtractSubmodel.h"
#include "matc/Codegen/Compiler.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/InitialWeights.h"
#include "matc/spec/ModelSpec.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {
enum ExitCode { kOk = 0, kUserError = 1, kUsageError = 2 };

// matc's own flags. --help lists only these (and --help/--version): the
// LLVM libraries register hundreds of back-end options that stay accepted
// but hidden (--help-hidden lists everything).
cl::OptionCategory matcCategory("matc options");

cl::SubCommand initCommand("init", "Write deterministic random weights for a spec");
cl::SubCommand compileCommand("compile", "Compile a model spec and a Mix'n'Match choice");
cl::SubCommand extractCommand("extract", "Slice a Mix'n'Match submodel out of a checkpoint");

cl::opt<std::string> specPath(cl::Positional, cl::Required,
                              cl::desc("<spec.json>"), cl::sub(initCommand),
                              cl::sub(compileCommand), cl::sub(extractCommand),
                              cl::cat(matcCategory));
cl::opt<std::string> extractWeights(cl::Positional, cl::Required,
                                    cl::desc("<weights.safetensors>"),
                                    cl::sub(extractCommand),
                                    cl::cat(matcCategory));
cl::opt<std::string> outputPath("o", cl::Required,
                                cl::desc("Output file (extract: folder)"),
                                cl::value_desc("path"), cl::sub(initCommand),
                                cl::sub(compileCommand),
                                cl::sub(extractCommand), cl::cat(matcCategory));
cl::opt<std::string> dtypeName("dtype", cl::desc("Weight dtype: f32 or bf16"),
                               cl::init("f32"), cl::sub(initCommand),
                               cl::sub(compileCommand), cl::cat(matcCategory));

cl::opt<uint64_t> seed("seed", cl::desc("Random seed"), cl::init(0),
                       cl::sub(initCommand), cl::cat(matcCategory));

cl::opt<std::string>
    mix("mix",
        cl::desc("Mix'n'Match choice (docs/REFERENCE.md, Mix'n'Match syntax)"),
        cl::value_desc("MIX"), cl::sub(compileCommand),
        cl::sub(extractCommand), cl::cat(matcCategory));
cl::opt<bool> elastic("elastic", cl::desc("One binary for every MIX"),
                      cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<std::string> targetName("target", cl::desc("cpu or cuda"),
                                cl::init("cpu"), cl::sub(compileCommand),
                                cl::cat(matcCategory));
cl::opt<std::string> cudaArch("cuda-arch", cl::desc("GPU architecture"),
                              cl::init("sm_90"), cl::sub(compileCommand),
                              cl::cat(matcCategory));
cl::opt<bool> cudaEmulateOnCpu(
    "cuda-emulate-on-cpu",
    cl::desc("For tests without a GPU: the CUDA kernels as serial CPU loops "
             "in a CPU program"),
    cl::Hidden, cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<bool> cudaTensorCores(
    "cuda-tensor-cores",
    cl::desc("--target cuda: projections on bf16 tensor cores (activations "
             "rounded to bf16; not yet run on a GPU)"),
    cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<std::string> emitName("emit",
                              cl::desc("exe, lib, obj, mlir, linalg, llvm or ptx"),
                              cl::init("exe"), cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<bool> train("train", cl::desc("Add the train subcommand"),
                    cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<std::string> cpuName("cpu",
                             cl::desc("CPU to generate code for (LLVM names: "
                                      "znver3, x86-64-v3, x86-64-v4, ...); "
                                      "default: this machine"),
                             cl::value_desc("name"), cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<int64_t> attentionTile(
    "attention-tile",
    cl::desc("Key positions per tile of the CPU's online-softmax attention "
             "(default 1024)"),
    cl::init(0), cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<bool> timing("timing",
                     cl::desc("Print the time of each compilation stage"),
                     cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<bool> mlirTiming("mlir-timing",
                         cl::desc("Print the time of each stage and pass"),
                         cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<bool> printIrAfterAll("mlir-print-ir-after-all",
                              cl::desc("Print the IR after every pass"),
                              cl::sub(compileCommand), cl::cat(matcCategory));
cl::opt<unsigned> optLevel("O", cl::Prefix, cl::desc("Optimization level 0-3"),
                           cl::init(2), cl::sub(compileCommand),
                           cl::cat(matcCategory));

int usageError(const Twine &message) {
  errs() << "matc: " << message << "\n";
  return kUsageError;
}

std::optional<matc::spec::DType> parseDType(StringRef name) {
  if (name == "f32")
    return matc::spec::DType::F32;
  if (name == "bf16")
    return matc::spec::DType::BF16;
  return std::nullopt;
}

int runInit() {
  std::optional<matc::spec::DType> dtype = parseDType(dtypeName);
  if (!dtype)
    return usageError("--dtype must be f32 or bf16, got '" + dtypeName + "'");
  matc::spec::Diagnostics diags(specPath);
  std::optional<matc::spec::ModelSpec> spec =
      matc::spec::loadModelSpec(specPath, diags);
  if (spec) {
    matc::spec::Diagnostics writeDiags(outputPath);
    matc::spec::writeInitialWeights(*spec, outputPath, seed, *dtype,
                                    writeDiags);
    errs() << writeDiags.str();
    if (writeDiags.hasErrors())
      return kUserError;
  }
  errs() << diags.str();
  return diags.hasErrors() ? kUserError : kOk;
}

int runExtract() {
  if (!mix.getNumOccurrences())
    return usageError("extract needs --mix MIX");
  matc::spec::Diagnostics diags(specPath);
  std::optional<matc::spec::ModelSpec> spec =
      matc::spec::loadModelSpec(specPath, diags);
  bool ok = spec && matc::extractSubmodel(*spec, extractWeights, mix,
                                          outputPath, diags);
  errs() << diags.str();
  if (ok)
    errs() << "matc: extracted mix " << mix << " of " << specPath << " -> "
           << outputPath << "/{model.safetensors,config.json}\n";
  return ok ? kOk : kUserError;
}

int runCompile() {
  matc::CompileOptions options;
  options.specPath = specPath;
  options.outputPath = outputPath;
  if (mix.getNumOccurrences())
    options.mix = mix;
  options.elastic = elastic;
  if (elastic && mix.getNumOccurrences())
    return usageError("--mix and --elastic exclude each other");
  std::optional<matc::Target> target = matc::parseTarget(targetName);
  if (!target)
    return usageError("--target must be cpu or cuda, got '" + targetName + "'");
  options.target = *target;
  options.cudaArch = cudaArch;
  options.cudaEmulateOnCpu = cudaEmulateOnCpu;
  options.cudaTensorCores = cudaTensorCores;
  std::optional<matc::EmitKind> emit = matc::parseEmitKind(emitName);
  if (!emit)
    return usageError("--emit must be exe, lib, obj, mlir, linalg, llvm or ptx, got '" +
                      emitName + "'");
  options.emit = *emit;
  std::optional<matc::spec::DType> dtype = parseDType(dtypeName);
  if (!dtype)
    return usageError("--dtype must be f32 or bf16, got '" + dtypeName + "'");
  options.bf16Weights = *dtype == matc::spec::DType::BF16;
  options.train = train;
  if (optLevel > 3)
    return usageError("-O must be 0, 1, 2 or 3");
  options.optLevel = optLevel;
  options.cpu = cpuName;
  if (attentionTile < 0)
    return usageError("--attention-tile must be positive");
  options.attentionTile = attentionTile;
  options.timing = timing;
  options.mlirTiming = mlirTiming;
  options.printIrAfterAll = printIrAfterAll;
  if (cudaArch.getNumOccurrences() && options.target != matc::Target::Cuda)
    return usageError("--cuda-arch applies only to --target cuda");
  if (std::string error = matc::checkTargetOptions(options); !error.empty())
    return usageError(error);

  matc::Compiler compiler(errs());
  return compiler.compile(options) ? kOk : kUserError;
}

/// `--mix @file.json` is MIX syntax, but llvm::cl would read `@file.json` as
/// a response file; `--mix=@file.json` keeps it a value.
std::vector<std::string> protectMixFiles(int argc, char **argv) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    StringRef arg = argv[i];
    if ((arg == "--mix" || arg == "-mix") && i + 1 < argc &&
        argv[i + 1][0] == '@') {
      args.push_back(arg.str() + "=" + argv[++i]);
      continue;
    }
    args.push_back(arg.str());
  }
  return args;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  std::vector<std::string> args = protectMixFiles(argc, argv);
  std::vector<const char *> argPointers;
  for (const std::string &arg : args)
    argPointers.push_back(arg.c_str());
  for (cl::SubCommand *sub : {&cl::SubCommand::getTopLevel(), &initCommand,
                              &compileCommand, &extractCommand})
    cl::HideUnrelatedOptions(matcCategory, *sub);
  std::string parseErrors;
  raw_string_ostream parseErrorStream(parseErrors);
  if (!cl::ParseCommandLineOptions(
          static_cast<int>(argPointers.size()), argPointers.data(),
          "matc: a compiler for MatFormer models\n", &parseErrorStream)) {
    errs() << parseErrors;
    return kUsageError;
  }
  if (initCommand)
    return runInit();
  if (compileCommand)
    return runCompile();
  if (extractCommand)
    return runExtract();
  return usageError("expected a subcommand: init, compile or extract (see --help)");
}
