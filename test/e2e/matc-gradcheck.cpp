//===- matc-gradcheck.cpp - compiled training against double precision ----===//
//
// Loads a model library compiled with `matc compile SPEC --train --elastic
// --emit lib`, gives it deterministic random f32 weights, and checks its
// training entry points against the double-precision reference
// (ReferenceModel.h) and the formulas of matc/abi/ModelAbi.h:
//   - matc_model_train_step, for each granularity alone: the loss, and the
//     gradient of every weight tensor along a random direction against
//     central finite differences of the reference loss in double precision
//     (step 1e-3 along a unit-RMS direction; tolerance 1e-3 relative to the
//     tensor's directional derivative, with an absolute floor of 1e-5); the
//     FFN gradients outside the granularity's prefix are exactly zero;
//   - accumulation: two granularities with weights 0.5 and 0.25, run twice,
//     give twice their weighted sum (relative 1e-5) and leave the losses of
//     the others as they were;
//   - matc_model_loss at MIXes with a skipped layer and a width that is not
//     a granularity against the reference's summed cross entropy;
//   - matc_model_grad_squared_norm and one matc_model_adamw_step against
//     the same formulas in double precision.
// Prints one line per check and exits 1 on the first failure.
//
// Usage: matc-gradcheck SPEC.json MODEL.so SEQ_LEN
//
//===----------------------------------------------------------------------===//
#include "ReferenceModel.h"

#include "matc/abi/ModelAbi.h"
#include "matc/spec/Diagnostics.h"
#include "matc/spec/ModelSpec.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <random>
#include <string>
#include <vector>

namespace abi = matc::abi;
using matc::reference::Checkpoint;

namespace {

int failures = 0;

void check(bool ok, const std::string &what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok)
    ++failures;
}

struct Library {
  abi::TrainStepFn trainStep;
  abi::LossFn loss;
  abi::GradSquaredNormFn gradNorm;
  abi::AdamWStepFn adamw;
  const char *manifest;
};

/// Mean (or summed) cross entropy of the reference logits of tokens[0, n)
/// against tokens[1, n + 1).
double referenceLoss(const matc::spec::ModelSpec &spec, const Checkpoint &ckpt,
                     const matc::spec::Mix &mix, const std::vector<int64_t> &tokens,
                     bool mean) {
  std::vector<int64_t> inputs(tokens.begin(), tokens.end() - 1);
  std::vector<double> logits =
      matc::reference::forwardLogits(spec, ckpt, mix, inputs);
  int64_t vocab = spec.vocabSize, n = static_cast<int64_t>(inputs.size());
  double total = 0;
  for (int64_t t = 0; t < n; ++t) {
    const double *row = &logits[t * vocab];
    double max = row[0];
    for (int64_t v = 1; v < vocab; ++v)
      max = std::max(max, row[v]);
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v)
      sum += std::exp(row[v] - max);
    total += max + std::log(sum) - row[tokens[t + 1]];
  }
  return mean ? total / n : total;
}

matc::spec::Mix uniformMix(const matc::spec::ModelSpec &spec, int64_t width) {
  matc::spec::Mix mix;
  for (int64_t dff : spec.intermediateSize)
    mix.push_back({false, std::min(width, dff)});
  return mix;
}

double relativeError(double got, double want, double floor) {
  return std::fabs(got - want) / std::max(std::fabs(want), floor);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: matc-gradcheck SPEC.json MODEL.so SEQ_LEN\n");
    return 2;
  }
  matc::spec::Diagnostics diags(argv[1]);
  std::optional<matc::spec::ModelSpec> spec =
      matc::spec::loadModelSpec(argv[1], diags);
  if (!spec) {
    std::fprintf(stderr, "%s", diags.str().c_str());
    return 1;
  }
  void *handle = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::fprintf(stderr, "matc-gradcheck: %s\n", dlerror());
    return 1;
  }
  Library lib{
      reinterpret_cast<abi::TrainStepFn>(dlsym(handle, abi::kTrainStepSymbol)),
      reinterpret_cast<abi::LossFn>(dlsym(handle, abi::kLossSymbol)),
      reinterpret_cast<abi::GradSquaredNormFn>(dlsym(handle, abi::kGradSquaredNormSymbol)),
      reinterpret_cast<abi::AdamWStepFn>(dlsym(handle, abi::kAdamWStepSymbol)),
      static_cast<const char *>(dlsym(handle, abi::kManifestSymbol))};
  if (!lib.trainStep || !lib.loss || !lib.gradNorm || !lib.adamw || !lib.manifest) {
    std::fprintf(stderr, "matc-gradcheck: %s lacks a training entry point "
                         "(compile with --train)\n", argv[2]);
    return 1;
  }
  nlohmann::json manifest = nlohmann::json::parse(lib.manifest, nullptr, false);
  check(!manifest.is_discarded() && manifest.value("train", false),
        "manifest says \"train\": true");
  int64_t seqLen = std::atoll(argv[3]);

  // Deterministic weights: norms near 1, everything else small.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<float>> weights;
  for (const auto &entry : manifest["weights"]) {
    names.push_back(entry["name"].get<std::string>());
    shapes.push_back(entry["shape"].get<std::vector<int64_t>>());
    int64_t count = 1;
    for (int64_t size : shapes.back())
      count *= size;
    bool norm = names.back().find("norm") != std::string::npos;
    std::vector<float> data(count);
    for (float &x : data)
      x = norm ? 1.0f + 0.2f * uniform(rng) : 0.3f * uniform(rng);
    weights.push_back(std::move(data));
  }
  size_t numWeights = weights.size();
  auto toCheckpoint = [&](const std::vector<std::vector<double>> &values) {
    Checkpoint ckpt;
    for (size_t i = 0; i < numWeights; ++i) {
      ckpt.order.push_back(names[i]);
      ckpt.tensors[names[i]] = {shapes[i], values[i]};
    }
    return ckpt;
  };
  std::vector<std::vector<double>> base(numWeights);
  for (size_t i = 0; i < numWeights; ++i)
    base[i].assign(weights[i].begin(), weights[i].end());

  std::vector<int32_t> tokens(seqLen + 1);
  std::vector<int64_t> tokens64(seqLen + 1);
  std::uniform_int_distribution<int64_t> token(0, spec->vocabSize - 1);
  for (int64_t t = 0; t <= seqLen; ++t)
    tokens64[t] = tokens[t] = static_cast<int32_t>(token(rng));

  std::vector<void *> weightTable, gradTable;
  std::vector<std::vector<float>> grads(numWeights);
  for (size_t i = 0; i < numWeights; ++i) {
    grads[i].assign(weights[i].size(), 0.0f);
    weightTable.push_back(weights[i].data());
    gradTable.push_back(grads[i].data());
  }
  auto zeroGrads = [&] {
    for (auto &g : grads)
      std::fill(g.begin(), g.end(), 0.0f);
  };
  const std::vector<int64_t> &granularities = spec->granularities;
  size_t numGranularities = granularities.size();

  // Each granularity alone: loss and directional derivatives per tensor.
  for (size_t gi = 0; gi < numGranularities; ++gi) {
    std::vector<float> lossWeights(numGranularities, 0.0f), losses(numGranularities, -1.0f);
    lossWeights[gi] = 1.0f;
    zeroGrads();
    lib.trainStep(seqLen, tokens.data(), lossWeights.data(), losses.data(),
                  weightTable.data(), gradTable.data());
    matc::spec::Mix mix = uniformMix(*spec, granularities[gi]);
    std::string at = "granularity " + std::to_string(granularities[gi]);
    double want = referenceLoss(*spec, toCheckpoint(base), mix, tokens64, true);
    check(relativeError(losses[gi], want, 1e-6) < 1e-4,
          at + ": loss " + std::to_string(losses[gi]) + " vs reference " +
              std::to_string(want));
    for (size_t i = 0; i < numWeights; ++i) {
      std::vector<double> direction(weights[i].size());
      for (double &d : direction)
        d = uniform(rng) * std::sqrt(3.0); // unit RMS
      double analytic = 0;
      for (size_t j = 0; j < direction.size(); ++j)
        analytic += grads[i][j] * direction[j];
      const double step = 1e-3;
      auto shifted = [&](double sign) {
        std::vector<std::vector<double>> values = base;
        for (size_t j = 0; j < direction.size(); ++j)
          values[i][j] += sign * step * direction[j];
        return referenceLoss(*spec, toCheckpoint(values), mix, tokens64, true);
      };
      double numeric = (shifted(1) - shifted(-1)) / (2 * step);
      double error = relativeError(analytic, numeric, 1e-2);
      check(error < 1e-3, at + ": d/d " + names[i] + " " + std::to_string(analytic) +
                              " vs finite differences " + std::to_string(numeric));
    }
    // Outside the prefix the FFN gradients are exactly zero.
    for (size_t i = 0; i < numWeights; ++i) {
      const std::string &name = names[i];
      bool rows = name.find("gate_proj") != std::string::npos ||
                  name.find("up_proj") != std::string::npos;
      bool columns = name.find("down_proj") != std::string::npos;
      if (!rows && !columns)
        continue;
      int64_t outer = shapes[i][0], inner = shapes[i][1];
      int64_t dff = rows ? outer : inner, width = std::min(granularities[gi], dff);
      bool zero = true;
      for (int64_t r = 0; r < outer; ++r)
        for (int64_t c = 0; c < inner; ++c)
          if ((rows ? r : c) >= width && grads[i][r * inner + c] != 0.0f)
            zero = false;
      check(zero, at + ": " + name + " gradient is zero beyond width " +
                      std::to_string(width));
    }
  }

  // Accumulation over two granularities, twice.
  if (numGranularities >= 2) {
    size_t a = 0, b = numGranularities - 1;
    std::vector<std::vector<float>> single(numGranularities);
    std::vector<float> lossWeights(numGranularities, 0.0f), losses(numGranularities);
    std::vector<std::vector<std::vector<float>>> alone(2);
    for (int k = 0; k < 2; ++k) {
      std::fill(lossWeights.begin(), lossWeights.end(), 0.0f);
      lossWeights[k == 0 ? a : b] = 1.0f;
      zeroGrads();
      lib.trainStep(seqLen, tokens.data(), lossWeights.data(), losses.data(),
                    weightTable.data(), gradTable.data());
      alone[k] = grads;
    }
    std::fill(lossWeights.begin(), lossWeights.end(), 0.0f);
    lossWeights[a] = 0.5f;
    lossWeights[b] = 0.25f;
    std::vector<float> sentinel(numGranularities, 42.0f);
    zeroGrads();
    for (int repeat = 0; repeat < 2; ++repeat)
      lib.trainStep(seqLen, tokens.data(), lossWeights.data(), sentinel.data(),
                    weightTable.data(), gradTable.data());
    double worst = 0;
    for (size_t i = 0; i < numWeights; ++i)
      for (size_t j = 0; j < grads[i].size(); ++j) {
        double want = 2 * (0.5 * alone[0][i][j] + 0.25 * alone[1][i][j]);
        worst = std::max(worst, std::fabs(grads[i][j] - want) /
                                    std::max(std::fabs(want), 1e-3));
      }
    check(worst < 1e-5, "accumulated gradients of two weighted granularities "
                        "(worst relative error " + std::to_string(worst) + ")");
    bool untouched = true;
    for (size_t gi = 0; gi < numGranularities; ++gi)
      if (gi != a && gi != b)
        untouched &= sentinel[gi] == 42.0f;
    check(untouched && sentinel[a] != 42.0f && sentinel[b] != 42.0f,
          "losses of granularities with weight 0 are left as they were");
  }

  // The summed loss of matc_model_loss at elastic MIXes.
  {
    std::vector<int64_t> cacheShapeK = manifest["buffers"]["k_cache"]["shape"];
    std::vector<int64_t> cacheShapeV = manifest["buffers"]["v_cache"]["shape"];
    auto elements = [](const std::vector<int64_t> &shape) {
      int64_t n = 1;
      for (int64_t s : shape)
        n *= s;
      return n;
    };
    std::vector<float> kCache(elements(cacheShapeK)), vCache(elements(cacheShapeV));
    int64_t layers = spec->numLayers;
    std::vector<std::vector<int64_t>> mixes;
    std::vector<int64_t> odd(layers);
    for (int64_t l = 0; l < layers; ++l)
      odd[l] = std::max<int64_t>(1, spec->intermediateSize[l] / 2 - 3);
    mixes.push_back(odd);
    std::vector<int64_t> skipped = odd;
    skipped[0] = abi::kSkippedLayerWidth;
    mixes.push_back(skipped);
    for (const std::vector<int64_t> &widths : mixes) {
      float loss = -1;
      lib.loss(seqLen, tokens.data(), &loss, kCache.data(), vCache.data(),
               widths.data(), weightTable.data());
      matc::spec::Mix mix;
      std::string text;
      for (int64_t w : widths) {
        mix.push_back({w == abi::kSkippedLayerWidth, std::max<int64_t>(w, 0)});
        text += (text.empty() ? "" : ",") +
                (w == abi::kSkippedLayerWidth ? std::string("skip") : std::to_string(w));
      }
      double want = referenceLoss(*spec, toCheckpoint(base), mix, tokens64, false);
      check(relativeError(loss, want, 1e-6) < 1e-4,
            "matc_model_loss at " + text + ": " + std::to_string(loss) +
                " vs reference " + std::to_string(want));
    }
  }

  // The squared gradient norm and one AdamW step.
  {
    std::vector<float> lossWeights(numGranularities, 1.0f), losses(numGranularities);
    zeroGrads();
    lib.trainStep(seqLen, tokens.data(), lossWeights.data(), losses.data(),
                  weightTable.data(), gradTable.data());
    double want = 0;
    for (const auto &g : grads)
      for (float x : g)
        want += static_cast<double>(x) * x;
    float got = -1;
    lib.gradNorm(gradTable.data(), &got);
    check(relativeError(got, want, 1e-12) < 1e-5,
          "grad squared norm " + std::to_string(got) + " vs " + std::to_string(want));

    float hyper[abi::kNumAdamWHyper];
    hyper[abi::kAdamLearningRate] = 0.01f;
    hyper[abi::kAdamBeta1] = 0.9f;
    hyper[abi::kAdamBeta2] = 0.95f;
    hyper[abi::kAdamEpsilon] = 1e-8f;
    hyper[abi::kAdamWeightDecay] = 0.1f;
    hyper[abi::kAdamBiasCorrection1] = 1 - 0.9f * 0.9f;   // step 2
    hyper[abi::kAdamBiasCorrection2] = 1 - 0.95f * 0.95f;
    hyper[abi::kAdamGradScale] = 0.5f;
    std::vector<float> decay(numWeights);
    std::vector<std::vector<float>> m(numWeights), v(numWeights);
    std::vector<void *> mTable, vTable;
    for (size_t i = 0; i < numWeights; ++i) {
      decay[i] = names[i].find("norm") != std::string::npos ? 0.0f : 1.0f;
      m[i].resize(weights[i].size());
      v[i].resize(weights[i].size());
      for (size_t j = 0; j < m[i].size(); ++j) {
        m[i][j] = 0.01f * uniform(rng);
        v[i][j] = 1e-4f * (1.0f + uniform(rng));
      }
      mTable.push_back(m[i].data());
      vTable.push_back(v[i].data());
    }
    auto before = weights;
    auto mBefore = m, vBefore = v;
    lib.adamw(hyper, decay.data(), weightTable.data(), gradTable.data(),
              mTable.data(), vTable.data());
    double worst = 0;
    for (size_t i = 0; i < numWeights; ++i)
      for (size_t j = 0; j < weights[i].size(); ++j) {
        double g = static_cast<double>(grads[i][j]) * hyper[abi::kAdamGradScale];
        double mm = hyper[abi::kAdamBeta1] * mBefore[i][j] + (1 - hyper[abi::kAdamBeta1]) * g;
        double vv = hyper[abi::kAdamBeta2] * vBefore[i][j] +
                    (1 - static_cast<double>(hyper[abi::kAdamBeta2])) * g * g;
        double w = before[i][j];
        double update = (mm / hyper[abi::kAdamBiasCorrection1]) /
                            (std::sqrt(vv / hyper[abi::kAdamBiasCorrection2]) +
                             hyper[abi::kAdamEpsilon]) +
                        hyper[abi::kAdamWeightDecay] * decay[i] * w;
        double want = w - hyper[abi::kAdamLearningRate] * update;
        double ew = std::fabs(weights[i][j] - want) / std::max(std::fabs(w - want), 1e-3);
        // m is a difference of terms of about 1e-2: f32 cancellation leaves
        // about 1e-9 absolute, hence the floor.
        double em = relativeError(m[i][j], mm, 1e-5);
        double ev = relativeError(v[i][j], vv, 1e-10);
        if (std::max({ew, em, ev}) > worst && getenv("GRADCHECK_DEBUG"))
          std::printf("adamw %s[%zu]: w %g want %g (from %g), m %g want %g, v %g want %g\n",
                      names[i].c_str(), j, weights[i][j], want, w, m[i][j], mm, v[i][j], vv);
        worst = std::max({worst, ew, em, ev});
      }
    check(worst < 1e-4, "one AdamW step (worst relative error " +
                            std::to_string(worst) + ")");
  }
  std::printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
