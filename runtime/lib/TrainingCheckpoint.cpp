#include "matrt/TrainingCheckpoint.h"

#include "matrt/TrainingRun.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace matrt {

using matc::spec::Diagnostics;
using matc::spec::DType;
using matc::spec::TensorData;

namespace {

constexpr const char *kStateFormat = "matc-train-state";
constexpr const char *kStateVersion = "1";
constexpr const char *kPartialSuffix = ".partial";
// Tensor name prefixes in W.optim.
constexpr const char *kWeightPrefix = "weight.";
constexpr const char *kFirstMomentPrefix = "adam_m.";
constexpr const char *kSecondMomentPrefix = "adam_v.";

std::string exactText(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

std::map<std::string, std::string> stateMetadata(const TrainingState &state) {
  const TrainingSettings &s = state.settings;
  return {
      {"format", kStateFormat},
      {"version", kStateVersion},
      {"step", std::to_string(state.step)},
      {"sampler_state", state.samplerState},
      {"seed", std::to_string(s.seed)},
      {"batch", std::to_string(s.batch)},
      {"seq_len", std::to_string(s.seqLen)},
      {"lr", exactText(s.schedule.peak)},
      {"min_lr", exactText(s.schedule.minimum)},
      {"warmup", std::to_string(s.schedule.warmupSteps)},
      {"schedule_steps", std::to_string(s.schedule.totalSteps)},
      {"weight_decay", exactText(s.weightDecay)},
      {"beta1", exactText(s.beta1)},
      {"beta2", exactText(s.beta2)},
      {"epsilon", exactText(s.epsilon)},
      {"clip", exactText(s.clipNorm)},
      {"sampling", s.sampleAll ? "all" : formatNumberList(s.probabilities)},
      {"loss_weights", formatNumberList(s.lossWeights)},
      {"decay_norms_and_embeddings",
       s.decayNormsAndEmbeddings ? "true" : "false"},
      {"data_bytes", std::to_string(state.dataBytes)},
      {"data_fnv1a", std::to_string(state.dataHash)},
      {"mix", state.mix},
  };
}

// Reads the metadata of W.optim; every error names the key.
class MetadataReader {
public:
  MetadataReader(const std::map<std::string, std::string> &metadata,
                 Diagnostics &diags)
      : metadata(metadata), diags(diags) {}

  const std::string *text(const char *key) {
    auto found = metadata.find(key);
    if (found != metadata.end())
      return &found->second;
    diags.error(std::string("metadata '") + key + "'", "missing");
    return nullptr;
  }
  void integer(const char *key, int64_t min, int64_t &value) {
    const std::string *found = text(key);
    if (!found)
      return;
    char *end = nullptr;
    errno = 0;
    long long parsed = std::strtoll(found->c_str(), &end, 10);
    if (found->empty() || *end != '\0' || errno == ERANGE || parsed < min)
      diags.error(std::string("metadata '") + key + "'",
                  "'" + *found +
                      "': expected an integer >= " + std::to_string(min));
    else
      value = parsed;
  }
  void unsignedInteger(const char *key, uint64_t &value) {
    const std::string *found = text(key);
    if (!found)
      return;
    char *end = nullptr;
    errno = 0;
    unsigned long long parsed = std::strtoull(found->c_str(), &end, 10);
    if (found->empty() || (*found)[0] == '-' || *end != '\0' || errno == ERANGE)
      diags.error(std::string("metadata '") + key + "'",
                  "'" + *found + "': expected an unsigned integer");
    else
      value = parsed;
  }
  void number(const char *key, double &value) {
    const std::string *found = text(key);
    std::vector<double> values;
    std::string error;
    if (!found)
      return;
    if (!parseNumberList(*found, values, error) || values.size() != 1)
      diags.error(std::string("metadata '") + key + "'",
                  "'" + *found + "': expected a number");
    else
      value = values[0];
  }

private:
  const std::map<std::string, std::string> &metadata;
  Diagnostics &diags;
};

std::vector<TensorData> weightTensors(const TrainableParameters &parameters,
                                      const char *prefix, int which) {
  std::vector<TensorData> tensors;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const float *data = which == 0   ? parameters.weight(i)
                        : which == 1 ? parameters.firstMoment(i)
                                     : parameters.secondMoment(i);
    tensors.push_back(
        {prefix + parameters.slot(i).name, DType::F32, parameters.slot(i).shape,
         data,
         static_cast<uint64_t>(parameters.numElements(i)) * sizeof(float)});
  }
  return tensors;
}

} // namespace

std::string trainingStatePath(const std::string &weightsPath) {
  return weightsPath + ".optim";
}

uint64_t dataFingerprint(const uint8_t *data, uint64_t size) {
  uint64_t hash = 1469598103934665603ull;
  for (uint64_t i = 0; i < size; ++i) {
    hash ^= data[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

CheckpointWriter::CheckpointWriter(std::string path)
    : weightsPath(std::move(path)), statePath(trainingStatePath(weightsPath)) {}

CheckpointWriter::~CheckpointWriter() {
  if (statePending)
    std::remove((statePath + kPartialSuffix).c_str());
  if (weightsPending)
    std::remove((weightsPath + kPartialSuffix).c_str());
}

bool CheckpointWriter::prepare(const TrainingRun &run, uint64_t dataBytes,
                               uint64_t dataHash, Diagnostics &diags) {
  const TrainableParameters &parameters = run.parameters();
  TrainingState state;
  state.step = run.stepsDone();
  state.settings = run.settings();
  state.samplerState = run.sampler().state();
  state.dataBytes = dataBytes;
  state.dataHash = dataHash;
  state.mix = run.manifest().mixText;

  std::vector<TensorData> stateTensors;
  int which = 0;
  for (const char *prefix :
       {kWeightPrefix, kFirstMomentPrefix, kSecondMomentPrefix}) {
    std::vector<TensorData> part = weightTensors(parameters, prefix, which++);
    stateTensors.insert(stateTensors.end(), part.begin(), part.end());
  }
  statePending = matc::spec::writeSafetensors(
      statePath + kPartialSuffix, stateTensors, stateMetadata(state), diags);
  if (!statePending)
    return false;
  weightsPending = matc::spec::writeSafetensors(
      weightsPath + kPartialSuffix, weightTensors(parameters, "", 0),
      {{"format", "pt"},
       {"generator", "matc train"},
       {"step", std::to_string(state.step)}},
      diags);
  return weightsPending;
}

bool CheckpointWriter::rename(const std::string &from, const std::string &to,
                              bool &pending, Diagnostics &diags) {
  if (!pending) {
    diags.error(to, "nothing prepared to rename into place");
    return false;
  }
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    diags.error(to, "cannot rename '" + from +
                        "' into place: " + std::strerror(errno));
    return false;
  }
  pending = false;
  return true;
}

bool CheckpointWriter::commitState(Diagnostics &diags) {
  return rename(statePath + kPartialSuffix, statePath, statePending, diags);
}

bool CheckpointWriter::commitWeights(Diagnostics &diags) {
  return rename(weightsPath + kPartialSuffix, weightsPath, weightsPending,
                diags);
}

bool writeCheckpoint(const std::string &weightsPath, const TrainingRun &run,
                     uint64_t dataBytes, uint64_t dataHash,
                     Diagnostics &diags) {
  CheckpointWriter writer(weightsPath);
  return writer.prepare(run, dataBytes, dataHash, diags) &&
         writer.commit(diags);
}

bool TrainingStateFile::open(const std::string &statePath,
                             Diagnostics &callerDiags) {
  path = statePath;
  Diagnostics diags(path);
  auto finish = [&](bool ok) {
    for (const matc::spec::Diagnostic &d : diags.all())
      callerDiags.report(d.severity, "", d.message);
    return ok && !diags.hasErrors();
  };
  if (!file.open(path, diags))
    return finish(false);
  header = matc::spec::parseSafetensorsHeader(file.data(), file.size(), diags);
  if (!header)
    return finish(false);
  auto format = header->metadata.find("format");
  if (format == header->metadata.end() || format->second != kStateFormat) {
    diags.error("", std::string("not a training state written by OUT train "
                                "(metadata 'format' is not '") +
                        kStateFormat + "')");
    return finish(false);
  }
  auto version = header->metadata.find("version");
  if (version == header->metadata.end() || version->second != kStateVersion) {
    diags.error("metadata 'version'",
                std::string("expected ") + kStateVersion + ", got '" +
                    (version == header->metadata.end() ? "" : version->second) +
                    "'");
    return finish(false);
  }

  MetadataReader read(header->metadata, diags);
  TrainingState &state = scalars;
  TrainingSettings &s = state.settings;
  read.integer("step", 0, state.step);
  if (const std::string *text = read.text("sampler_state"))
    state.samplerState = *text;
  read.unsignedInteger("seed", s.seed);
  read.integer("batch", 1, s.batch);
  read.integer("seq_len", 1, s.seqLen);
  read.number("lr", s.schedule.peak);
  read.number("min_lr", s.schedule.minimum);
  read.integer("warmup", 0, s.schedule.warmupSteps);
  read.integer("schedule_steps", 1, s.schedule.totalSteps);
  read.number("weight_decay", s.weightDecay);
  read.number("beta1", s.beta1);
  read.number("beta2", s.beta2);
  read.number("epsilon", s.epsilon);
  read.number("clip", s.clipNorm);
  std::string error;
  if (const std::string *text = read.text("sampling"))
    if (!parseSamplingFlag(*text, s.sampleAll, s.probabilities, error))
      diags.error("metadata 'sampling'", error);
  if (const std::string *text = read.text("loss_weights"))
    if (!parseNumberList(*text, s.lossWeights, error))
      diags.error("metadata 'loss_weights'", error);
  if (const std::string *text = read.text("decay_norms_and_embeddings")) {
    if (*text != "true" && *text != "false")
      diags.error("metadata 'decay_norms_and_embeddings'",
                  "expected true or false");
    s.decayNormsAndEmbeddings = *text == "true";
  }
  read.unsignedInteger("data_bytes", state.dataBytes);
  read.unsignedInteger("data_fnv1a", state.dataHash);
  if (const std::string *text = read.text("mix"))
    state.mix = *text;
  return finish(true);
}

bool TrainingStateFile::loadTensors(TrainableParameters &parameters,
                                    Diagnostics &callerDiags) const {
  Diagnostics diags(path);
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const WeightSlot &slot = parameters.slot(i);
    float *targets[] = {parameters.weight(i), parameters.firstMoment(i),
                        parameters.secondMoment(i)};
    const char *prefixes[] = {kWeightPrefix, kFirstMomentPrefix,
                              kSecondMomentPrefix};
    for (int which = 0; which < 3; ++which) {
      std::string name = prefixes[which] + slot.name;
      const matc::spec::TensorInfo *tensor = header->find(name);
      if (!tensor) {
        diags.error(name, "missing (the compiled model has weight " +
                              slot.name + ")");
        continue;
      }
      if (tensor->dtype != DType::F32 || tensor->shape != slot.shape) {
        diags.error(name, std::string(matc::spec::dtypeName(tensor->dtype)) +
                              " " + matc::spec::formatShape(tensor->shape) +
                              ", expected F32 " +
                              matc::spec::formatShape(slot.shape));
        continue;
      }
      std::memcpy(targets[which],
                  file.data() + header->dataStart + tensor->begin,
                  tensor->end - tensor->begin);
    }
  }
  for (const matc::spec::Diagnostic &d : diags.all())
    callerDiags.report(d.severity, "", d.message);
  return !diags.hasErrors();
}

} // namespace matrt
