// The C APIs (matc/matc.h, matrt/matrt.h) from a host program: compiling
// through the compiler's API, running --emit lib models, two models in one
// process, and every kind of bad input coming back as an error record or
// status, never an abort. Uses the build tree's bin/matc to write weights.
#include "matc/matc.h"
#include "matrt/matrt.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

const std::string kSpecs = MATC_SOURCE_DIR "/examples/specs/";

std::string tempDir() {
  static std::string dir = [] {
    char pattern[] = "/tmp/matc-capi-XXXXXX";
    const char *made = mkdtemp(pattern);
    return std::string(made ? made : "/tmp");
  }();
  return dir;
}

// Weights for a spec, written once by bin/matc init.
std::string weightsFor(const std::string &spec) {
  std::string path = tempDir() + "/" + spec + ".safetensors";
  if (access(path.c_str(), F_OK) != 0) {
    std::string command = std::string(MATC_BIN_DIR "/matc init ") + kSpecs +
                          spec + ".json -o " + path + " --seed 1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
  return path;
}

struct Context {
  matc_context *handle = matc_context_create(MATC_API_VERSION);
  ~Context() { matc_context_free(handle); }
  std::string dump() const {
    std::string text;
    for (size_t i = 0; i < matc_diagnostic_count(handle); ++i)
      text += std::string(matc_diagnostic_get(handle, i)->text) + "\n";
    return text;
  }
  const matc_diagnostic *firstError() const {
    for (size_t i = 0; i < matc_diagnostic_count(handle); ++i)
      if (matc_diagnostic_get(handle, i)->severity == MATC_SEVERITY_ERROR)
        return matc_diagnostic_get(handle, i);
    return nullptr;
  }
};

// Compiles `spec` (a file of examples/specs) to an --emit lib library, once.
std::string library(const std::string &spec, const char *mix) {
  std::string path = tempDir() + "/" + spec + "-" +
                     (mix ? std::string(mix) : "elastic") + ".so";
  if (access(path.c_str(), F_OK) == 0)
    return path;
  Context context;
  matc_set_emit(context.handle, MATC_EMIT_LIB);
  if (mix)
    matc_set_mix(context.handle, mix);
  else
    matc_set_elastic(context.handle, 1);
  EXPECT_EQ(matc_compile_file(context.handle, (kSpecs + spec + ".json").c_str(),
                              path.c_str()),
            MATC_OK)
      << context.dump();
  return path;
}

// `spec` compiled with matc_set_train (elastic), once.
std::string trainLibrary(const std::string &spec) {
  std::string path = tempDir() + "/" + spec + "-train.so";
  if (access(path.c_str(), F_OK) == 0)
    return path;
  Context context;
  matc_set_emit(context.handle, MATC_EMIT_LIB);
  matc_set_elastic(context.handle, 1);
  EXPECT_EQ(matc_set_train(context.handle, 1), MATC_OK);
  EXPECT_EQ(matc_compile_file(context.handle, (kSpecs + spec + ".json").c_str(),
                              path.c_str()),
            MATC_OK)
      << context.dump();
  return path;
}

struct Model {
  matrt_model *handle = nullptr;
  ~Model() { matrt_close(handle); }
};

std::vector<float> forward(matrt_model *model, const std::vector<int32_t> &ids) {
  std::vector<float> logits(ids.size() * matrt_vocab_size(model));
  EXPECT_EQ(matrt_forward(model, ids.data(), ids.size(), logits.data()),
            MATRT_OK)
      << matrt_last_error();
  return logits;
}

TEST(CompilerCApi, VersionIsCheckedAtRunTime) {
  EXPECT_EQ(matc_api_version(), MATC_API_VERSION);
  EXPECT_NE(std::string(matc_version_string()).find("matc API 1."),
            std::string::npos);
  EXPECT_EQ(matc_context_create(MATC_API_VERSION + 100), nullptr);
  matrt_model *model = nullptr;
  EXPECT_EQ(matrt_open(MATRT_API_VERSION + 100, "x.so", "w", nullptr, &model),
            MATRT_ERROR_VERSION);
  EXPECT_EQ(model, nullptr);
}

TEST(CompilerCApi, BadSpecTextIsAnErrorRecord) {
  Context context;
  matc_set_emit(context.handle, MATC_EMIT_MLIR);
  std::string out = tempDir() + "/bad.mlir";
  EXPECT_EQ(matc_compile_json(context.handle,
                              "{\"vocab_size\": 256, \"hidden_size\": \"x\"}",
                              out.c_str()),
            MATC_ERROR_COMPILE);
  const matc_diagnostic *error = context.firstError();
  ASSERT_NE(error, nullptr) << context.dump();
  EXPECT_STREQ(error->file, "<spec>");
  EXPECT_STRNE(error->field, "") << context.dump();
  EXPECT_STRNE(error->message, "");
  EXPECT_NE(access(out.c_str(), F_OK), 0);
  // Not JSON at all.
  EXPECT_EQ(matc_compile_json(context.handle, "{", out.c_str()),
            MATC_ERROR_COMPILE);
  EXPECT_GE(matc_error_count(context.handle), 1u);
}

TEST(CompilerCApi, BadMixIsAnErrorRecordNamingTheToken) {
  Context context;
  matc_set_emit(context.handle, MATC_EMIT_MLIR);
  matc_set_mix(context.handle, "S,M,XXL,XL");
  EXPECT_EQ(matc_compile_file(context.handle, (kSpecs + "tiny.json").c_str(),
                              (tempDir() + "/mix.mlir").c_str()),
            MATC_ERROR_COMPILE);
  const matc_diagnostic *error = context.firstError();
  ASSERT_NE(error, nullptr);
  EXPECT_STREQ(error->file, "mix");
  EXPECT_NE(std::string(error->field).find("XXL"), std::string::npos)
      << context.dump();
}

TEST(CompilerCApi, MissingSpecFileAndBadOptions) {
  Context context;
  std::string missing = tempDir() + "/does-not-exist.json";
  EXPECT_EQ(matc_compile_file(context.handle, missing.c_str(),
                              (tempDir() + "/x").c_str()),
            MATC_ERROR_COMPILE);
  const matc_diagnostic *error = context.firstError();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(std::string(error->file), missing) << context.dump();
  EXPECT_EQ(matc_set_opt_level(context.handle, 7), MATC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(matc_compile_file(context.handle, nullptr, "x"),
            MATC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(matc_compile_file(nullptr, "x", "y"), MATC_ERROR_INVALID_ARGUMENT);
  // The CUDA target makes executables and objects, not libraries.
  matc_set_target(context.handle, MATC_TARGET_CUDA);
  matc_set_emit(context.handle, MATC_EMIT_LIB);
  EXPECT_EQ(matc_compile_file(context.handle, (kSpecs + "tiny.json").c_str(),
                              (tempDir() + "/cuda.so").c_str()),
            MATC_ERROR_COMPILE);
  ASSERT_NE(context.firstError(), nullptr);
  EXPECT_NE(std::string(context.firstError()->message)
                .find("--emit lib is not supported with --target cuda"),
            std::string::npos)
      << context.dump();
}

TEST(CompilerCApi, CompilesJsonTextAndReportsASummary) {
  Context context;
  matc_set_emit(context.handle, MATC_EMIT_MLIR);
  matc_set_mix(context.handle, "S");
  std::string json = "{\"vocab_size\": 256, \"hidden_size\": 64, "
                     "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                     "\"intermediate_size\": 128, "
                     "\"max_position_embeddings\": 32, \"matformer\": "
                     "{\"granularities\": [32, 64, 128]}}";
  std::string out = tempDir() + "/text.mlir";
  EXPECT_EQ(matc_compile_json(context.handle, json.c_str(), out.c_str()),
            MATC_OK)
      << context.dump();
  EXPECT_EQ(access(out.c_str(), F_OK), 0);
  EXPECT_EQ(matc_error_count(context.handle), 0u);
}

TEST(RuntimeCApi, RunsALibraryAndSwitchesMixes) {
  std::string weights = weightsFor("tiny");
  Model elastic, small;
  ASSERT_EQ(matrt_open(MATRT_API_VERSION, library("tiny", nullptr).c_str(),
                       weights.c_str(), "S", &elastic.handle),
            MATRT_OK)
      << matrt_last_error();
  ASSERT_EQ(matrt_open(MATRT_API_VERSION, library("tiny", "S").c_str(),
                       weights.c_str(), nullptr, &small.handle),
            MATRT_OK)
      << matrt_last_error();
  EXPECT_TRUE(matrt_is_elastic(elastic.handle));
  EXPECT_FALSE(matrt_is_elastic(small.handle));
  EXPECT_EQ(matrt_num_layers(elastic.handle), 4);
  EXPECT_STREQ(matrt_mix(small.handle), "32,32,32,32");

  std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  std::vector<float> a = forward(elastic.handle, ids);
  std::vector<float> b = forward(small.handle, ids);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], 1e-3) << i;

  // Another mix gives other logits; back to S gives the same again.
  ASSERT_EQ(matrt_set_mix(elastic.handle, "XL"), MATRT_OK);
  EXPECT_STREQ(matrt_mix(elastic.handle), "256,256,256,256");
  std::vector<float> xl = forward(elastic.handle, ids);
  double difference = 0;
  for (size_t i = 0; i < a.size(); ++i)
    difference += std::fabs(xl[i] - a[i]);
  EXPECT_GT(difference, 1e-3);
  ASSERT_EQ(matrt_set_mix(elastic.handle, "S"), MATRT_OK);
  EXPECT_EQ(forward(elastic.handle, ids), a);

  // Generation streams what it returns.
  struct Seen {
    std::vector<int32_t> tokens;
  } seen;
  std::vector<int32_t> out(5);
  size_t count = 0;
  matrt_sampling sampling = {0.8, 10, 7};
  ASSERT_EQ(matrt_generate(elastic.handle, ids.data(), ids.size(), 5,
                           &sampling,
                           [](int32_t token, void *user) {
                             static_cast<Seen *>(user)->tokens.push_back(token);
                           },
                           &seen, out.data(), &count),
            MATRT_OK)
      << matrt_last_error();
  EXPECT_EQ(count, 5u);
  out.resize(count);
  EXPECT_EQ(seen.tokens, out);

  double loss = 0;
  int64_t scored = 0;
  std::vector<int32_t> text(40);
  for (size_t i = 0; i < text.size(); ++i)
    text[i] = static_cast<int32_t>((i * 11) % 256);
  ASSERT_EQ(matrt_eval_loss(elastic.handle, text.data(), text.size(), 16,
                            &loss, &scored),
            MATRT_OK)
      << matrt_last_error();
  EXPECT_EQ(scored, 39);
  EXPECT_GT(loss, 0);
  EXPECT_TRUE(std::isfinite(loss));
}

// Training through the C API: the compiled gradients and AdamW on given
// sequences. Repeated steps on one sequence must fit it; forward and the
// loss then read the trained weights, and the weights file is untouched.
TEST(RuntimeCApi, TrainStepFitsASequenceAndTheModelUsesTheResult) {
  std::string weights = weightsFor("tiny");
  Model model;
  ASSERT_EQ(matrt_open(MATRT_API_VERSION, trainLibrary("tiny").c_str(),
                       weights.c_str(), "XL", &model.handle),
            MATRT_OK)
      << matrt_last_error();
  std::vector<int32_t> text;
  for (char c : std::string("a nested model, trained through the C API"))
    text.push_back(static_cast<unsigned char>(c));
  double before = 0;
  ASSERT_EQ(matrt_eval_loss(model.handle, text.data(), text.size(), 0, &before,
                            nullptr),
            MATRT_OK)
      << matrt_last_error();
  std::vector<float> initialLogits = forward(model.handle, text);
  std::vector<double> losses;
  for (int step = 0; step < 30; ++step) {
    double loss = 0;
    ASSERT_EQ(
        matrt_train_step(model.handle, text.data(), text.size(), 1e-2, &loss),
        MATRT_OK)
        << matrt_last_error();
    EXPECT_TRUE(std::isfinite(loss));
    losses.push_back(loss);
  }
  // The joint loss sums the four granularities, each near ln 256 at first.
  EXPECT_GT(losses.front(), 4 * 5.0);
  EXPECT_LT(losses.back(), 0.5 * losses.front());
  double after = 0;
  ASSERT_EQ(matrt_eval_loss(model.handle, text.data(), text.size(), 0, &after,
                            nullptr),
            MATRT_OK);
  EXPECT_LT(after, 0.5 * before);
  EXPECT_NE(forward(model.handle, text), initialLogits);
  // Every mix reads the trained weights: S fits the sequence too.
  ASSERT_EQ(matrt_set_mix(model.handle, "S"), MATRT_OK);
  double small = 0;
  ASSERT_EQ(matrt_eval_loss(model.handle, text.data(), text.size(), 0, &small,
                            nullptr),
            MATRT_OK);
  EXPECT_LT(small, 0.5 * before);
  // A fresh model from the same file starts where the first one did.
  Model fresh;
  ASSERT_EQ(matrt_open(MATRT_API_VERSION, trainLibrary("tiny").c_str(),
                       weights.c_str(), "XL", &fresh.handle),
            MATRT_OK);
  EXPECT_EQ(forward(fresh.handle, text), initialLogits);
  // Bad input: one token, a token outside the vocabulary, a learning rate
  // that is not positive; the model goes on working.
  double loss = 0;
  EXPECT_EQ(matrt_train_step(model.handle, text.data(), 1, 1e-2, &loss),
            MATRT_ERROR_TOKENS);
  std::vector<int32_t> bad = {1, 256};
  EXPECT_EQ(matrt_train_step(model.handle, bad.data(), 2, 1e-2, &loss),
            MATRT_ERROR_TOKENS);
  EXPECT_EQ(matrt_train_step(model.handle, text.data(), text.size(), 0, &loss),
            MATRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(matrt_last_error()).find("learning_rate"),
            std::string::npos);
  std::vector<int32_t> tooLong(258, 1);
  EXPECT_EQ(matrt_train_step(model.handle, tooLong.data(), tooLong.size(), 1e-2,
                             &loss),
            MATRT_ERROR_TOKENS);
  EXPECT_EQ(
      matrt_train_step(model.handle, text.data(), text.size(), 1e-2, nullptr),
      MATRT_OK);
}

TEST(RuntimeCApi, ErrorsComeBackAsCodes) {
  std::string weights = weightsFor("tiny");
  std::string lib = library("tiny", "S");
  Model model;
  // Missing library, missing weights, a file that is not a model.
  EXPECT_EQ(matrt_open(MATRT_API_VERSION, "/nonexistent/model.so",
                       weights.c_str(), nullptr, &model.handle),
            MATRT_ERROR_FILE);
  EXPECT_NE(std::string(matrt_last_error()).find("/nonexistent/model.so"),
            std::string::npos);
  EXPECT_EQ(matrt_open(MATRT_API_VERSION, lib.c_str(), "/nonexistent/w",
                       nullptr, &model.handle),
            MATRT_ERROR_FILE);
  EXPECT_EQ(matrt_open(MATRT_API_VERSION, weights.c_str(), weights.c_str(),
                       nullptr, &model.handle),
            MATRT_ERROR_FILE); // not a shared object: dlopen refuses it
  // Weights of another model.
  EXPECT_EQ(matrt_open(MATRT_API_VERSION, lib.c_str(),
                       weightsFor("odd-sizes").c_str(), nullptr,
                       &model.handle),
            MATRT_ERROR_WEIGHTS);
  EXPECT_NE(std::string(matrt_last_error()).find("odd-sizes.safetensors"),
            std::string::npos)
      << matrt_last_error();
  // A mix the static model was not compiled for, a mix that does not parse.
  EXPECT_EQ(matrt_open(MATRT_API_VERSION, lib.c_str(), weights.c_str(), "XL",
                       &model.handle),
            MATRT_ERROR_MIX);
  EXPECT_EQ(model.handle, nullptr);
  ASSERT_EQ(matrt_open(MATRT_API_VERSION, lib.c_str(), weights.c_str(),
                       nullptr, &model.handle),
            MATRT_OK);
  EXPECT_EQ(matrt_set_mix(model.handle, "XL"), MATRT_ERROR_MIX);
  EXPECT_STREQ(matrt_mix(model.handle), "32,32,32,32");
  Model elastic;
  ASSERT_EQ(matrt_open(MATRT_API_VERSION, library("tiny", nullptr).c_str(),
                       weights.c_str(), nullptr, &elastic.handle),
            MATRT_OK);
  EXPECT_EQ(matrt_set_mix(elastic.handle, "S,M"), MATRT_ERROR_MIX);
  EXPECT_EQ(matrt_set_mix(elastic.handle, "XXL"), MATRT_ERROR_MIX);
  EXPECT_NE(std::string(matrt_last_error()).find("XXL"), std::string::npos);
  // Tokens out of range, too many tokens, null pointers.
  std::vector<int32_t> bad = {1, 300};
  std::vector<float> logits(2 * 256);
  EXPECT_EQ(matrt_forward(model.handle, bad.data(), 2, logits.data()),
            MATRT_ERROR_TOKENS);
  std::vector<int32_t> tooMany(257, 1);
  std::vector<float> big(257 * 256);
  EXPECT_EQ(matrt_forward(model.handle, tooMany.data(), tooMany.size(),
                          big.data()),
            MATRT_ERROR_TOKENS);
  EXPECT_EQ(matrt_forward(model.handle, nullptr, 0, logits.data()),
            MATRT_ERROR_INVALID_ARGUMENT);
  // Training needs --train.
  double loss = 0;
  EXPECT_EQ(matrt_train_step(model.handle, bad.data(), 2, 1e-3, &loss),
            MATRT_ERROR_NOT_COMPILED_WITH_TRAIN);
  EXPECT_NE(std::string(matrt_last_error()).find("--train"),
            std::string::npos);
  // The model still works after all that.
  std::vector<int32_t> ok = {1, 2};
  EXPECT_EQ(matrt_forward(model.handle, ok.data(), 2, logits.data()),
            MATRT_OK);
}

// Two --emit lib libraries loaded into one process with RTLD_GLOBAL, each
// used through its own exported C API with its own linked-in model: if the
// libraries' symbols were not kept local, the second would run the first's.
TEST(RuntimeCApi, TwoLibrariesInOneProcess) {
  std::string tiny = library("tiny", "M");
  std::string odd = library("odd-sizes", "XL");
  void *first = dlopen(tiny.c_str(), RTLD_NOW | RTLD_GLOBAL);
  void *second = dlopen(odd.c_str(), RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(first, nullptr) << dlerror();
  ASSERT_NE(second, nullptr) << dlerror();
  using OpenFn = decltype(&matrt_open);
  using CloseFn = decltype(&matrt_close);
  using IntFn = decltype(&matrt_max_positions);
  using LayersFn = decltype(&matrt_num_layers);
  using ForwardFn = decltype(&matrt_forward);
  struct Api {
    OpenFn open;
    CloseFn close;
    IntFn maxPositions;
    LayersFn layers;
    ForwardFn forward;
  };
  auto api = [](void *handle) {
    return Api{reinterpret_cast<OpenFn>(dlsym(handle, "matrt_open")),
               reinterpret_cast<CloseFn>(dlsym(handle, "matrt_close")),
               reinterpret_cast<IntFn>(dlsym(handle, "matrt_max_positions")),
               reinterpret_cast<LayersFn>(dlsym(handle, "matrt_num_layers")),
               reinterpret_cast<ForwardFn>(dlsym(handle, "matrt_forward"))};
  };
  Api a = api(first), b = api(second);
  ASSERT_TRUE(a.open && b.open && a.forward && b.forward);
  EXPECT_NE(a.open, b.open);
  matrt_model *ma = nullptr, *mb = nullptr;
  ASSERT_EQ(a.open(MATRT_API_VERSION, nullptr, weightsFor("tiny").c_str(),
                   nullptr, &ma),
            MATRT_OK);
  ASSERT_EQ(b.open(MATRT_API_VERSION, nullptr,
                   weightsFor("odd-sizes").c_str(), nullptr, &mb),
            MATRT_OK);
  EXPECT_EQ(a.maxPositions(ma), 256);
  EXPECT_EQ(b.maxPositions(mb), 128);
  EXPECT_EQ(a.layers(ma), 4);
  EXPECT_EQ(b.layers(mb), 3);
  std::vector<int32_t> ids = {5, 6, 7};
  std::vector<float> la(3 * 256), lb(3 * 256);
  EXPECT_EQ(a.forward(ma, ids.data(), 3, la.data()), MATRT_OK);
  EXPECT_EQ(b.forward(mb, ids.data(), 3, lb.data()), MATRT_OK);
  EXPECT_NE(la, lb);
  // The same model through libmatrt.so (RTLD_LOCAL) computes the same.
  Model again;
  ASSERT_EQ(matrt_open(MATRT_API_VERSION, tiny.c_str(),
                       weightsFor("tiny").c_str(), nullptr, &again.handle),
            MATRT_OK);
  EXPECT_EQ(forward(again.handle, ids), la);
  a.close(ma);
  b.close(mb);
  dlclose(second);
  dlclose(first);
}

} // namespace
