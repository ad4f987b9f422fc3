#ifndef MATRT_MODELABI_H
#define MATRT_MODELABI_H

// The interface between the code matc generates for one model and this
// runtime. The generated object exports exactly the two symbols declared
// below; everything else (weights, KV cache, sampling, the command line) is
// the runtime's job.

#include <cstdint>

extern "C" {

// NUL-terminated JSON describing the compiled model (see Manifest.h).
extern const char matc_model_manifest[];

// Runs tokens[0..num_tokens) at positions [start_pos, start_pos+num_tokens):
// writes their K/V into the caches at those positions, attends causally over
// cache positions [0, start_pos+num_tokens), and writes
// logits[num_tokens][vocab] (f32). Each cache holds layers x max_positions
// x kv_heads x head_dim floats, owned by the runtime; the generated code
// chooses their layout (K a row per position, V positions innermost).
//
// `layer_widths` has one entry per layer of the universal model
// (num_hidden_layers): the FFN width in [0, d_ff of that layer], or -1 to skip
// the whole layer. A binary compiled for one mix ignores it (the runtime
// passes that mix anyway); an elastic binary runs the mix it describes, on
// every call anew, and keeps one KV cache slot per layer (a skipped layer
// leaves its slot untouched).
//
// The generated code checks nothing: the runtime guarantees
// 1 <= num_tokens, start_pos + num_tokens <= max_positions, every token in
// [0, vocab) and every width in range before calling.
void matc_model_forward(int64_t num_tokens, int64_t start_pos,
                        const int32_t *tokens, float *logits, float *k_cache,
                        float *v_cache, void *const *weights,
                        const int64_t *layer_widths);
}

namespace matrt {

// The manifest's "matc_abi" this runtime implements; codegen/lib/RuntimeAbi.cpp
// writes the same number. 2: matc_model_forward takes layer_widths.
constexpr int64_t kModelAbiVersion = 2;

// layer_widths' entry for a skipped layer.
constexpr int64_t kSkippedLayerWidth = -1;

using ForwardFn = void (*)(int64_t numTokens, int64_t startPos,
                           const int32_t *tokens, float *logits, float *kCache,
                           float *vCache, void *const *weights,
                           const int64_t *layerWidths);

// A model as the runtime sees it. The executable passes the generated
// symbols; unit tests pass a manifest string and a plain-loop toy forward,
// which is why nothing outside CompiledModel.cpp names the extern symbols.
struct CompiledModel {
  const char *manifestText = nullptr;
  ForwardFn forward = nullptr;
};

// Runs the command line against the model linked into this executable.
// Defined in CompiledModel.cpp, the only file that references the ABI symbols.
int runCompiledModel(int argc, char **argv);

} // namespace matrt

#endif // MATRT_MODELABI_H
