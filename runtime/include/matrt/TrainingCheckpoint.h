#ifndef MATRT_TRAININGCHECKPOINT_H
#define MATRT_TRAININGCHECKPOINT_H

// A training checkpoint is two files (docs/REFERENCE.md, Training
// checkpoints):
//   W        (--out) the weights: F32 safetensors under the manifest's
//            names, which forward, generate, eval and extract load;
//   W.optim  everything --resume needs, self-contained: the weights again,
//            AdamW's moments, the step, the sampler's random state and the
//            settings, as a safetensors file whose metadata holds the
//            scalars.
// Each is written under a temporary name (<file>.partial) and renamed into
// place, the state first. A run killed at any moment therefore leaves each
// file complete, either as it was or as it is now, and since --resume reads
// only W.optim it never pairs weights with another step's moments.

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Safetensors.h"
#include "matrt/Manifest.h"
#include "matrt/MappedFile.h"
#include "matrt/TrainableParameters.h"
#include "matrt/TrainingSettings.h"

#include <cstdint>
#include <optional>
#include <string>

namespace matrt {

class TrainingRun;

// The scalars of W.optim.
struct TrainingState {
  int64_t step = 0; // steps completed
  TrainingSettings settings;
  std::string samplerState; // BatchSampler::state()
  // The training data it was trained on (a resume on other data is
  // allowed, with a warning).
  uint64_t dataBytes = 0;
  uint64_t dataHash = 0;
  std::string mix; // the manifest's "mix" of the binary that wrote it
};

// W.optim for W.
std::string trainingStatePath(const std::string &weightsPath);

// FNV-1a of `size` bytes: identifies the training data in a checkpoint.
uint64_t dataFingerprint(const uint8_t *data, uint64_t size);

// Writes one checkpoint of `run` in two phases, so that a test can stop
// between them as a killed process would.
class CheckpointWriter {
public:
  explicit CheckpointWriter(std::string weightsPath);
  // Removes the temporaries that were not renamed.
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter &) = delete;
  CheckpointWriter &operator=(const CheckpointWriter &) = delete;

  // Writes both files under their temporary names.
  bool prepare(const TrainingRun &run, uint64_t dataBytes, uint64_t dataHash,
               matc::spec::Diagnostics &diags);
  // Renames the state, then the weights, into place.
  bool commit(matc::spec::Diagnostics &diags) {
    return commitState(diags) && commitWeights(diags);
  }
  bool commitState(matc::spec::Diagnostics &diags);
  bool commitWeights(matc::spec::Diagnostics &diags);

private:
  bool rename(const std::string &from, const std::string &to, bool &pending,
              matc::spec::Diagnostics &diags);

  std::string weightsPath, statePath;
  bool weightsPending = false, statePending = false;
};

// Writes a checkpoint: prepare, then commit.
bool writeCheckpoint(const std::string &weightsPath, const TrainingRun &run,
                     uint64_t dataBytes, uint64_t dataHash,
                     matc::spec::Diagnostics &diags);

// W.optim, opened for --resume: the scalars first (so the settings can be
// merged with the command line before the run is made), then the tensors.
class TrainingStateFile {
public:
  // Checks the format and every scalar; errors name the file and the
  // metadata key.
  bool open(const std::string &path, matc::spec::Diagnostics &diags);
  const TrainingState &state() const { return scalars; }
  // Copies the weights and moments into `parameters`: every manifest weight
  // must be there with its shape, as F32.
  bool loadTensors(TrainableParameters &parameters,
                   matc::spec::Diagnostics &diags) const;

private:
  std::string path;
  MappedFile file;
  std::optional<matc::spec::SafetensorsHeader> header;
  TrainingState scalars;
};

} // namespace matrt

#endif // MATRT_TRAININGCHECKPOINT_H
