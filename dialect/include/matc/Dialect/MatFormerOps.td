#ifndef MATC_DIALECT_MATFORMEROPS_TD
#define MATC_DIALECT_MATFORMEROPS_TD

include "matc/Dialect/MatFormerDialect.td"
include "matc/Dialect/MatFormerAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

class MatFormer_Op<string mnemonic, list<Trait> traits = []>
    : Op<MatFormer_Dialect, mnemonic, traits>;

def MatFormer_Activations : RankedTensorOf<[AnyFloat]>;
def MatFormer_Weight : RankedTensorOf<[AnyFloat]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def MatFormer_WeightOp : MatFormer_Op<"weight", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "a model parameter, named by its checkpoint tensor name";
  let description = [{
    Declares one tensor of the checkpoint. The runtime binds it to the
    memory-mapped tensor of the same name; the compiler never sees its data.

    ```mlir
    matformer.weight @"model.norm.weight" : tensor<64xf32>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttrOf<MatFormer_Weight>:$type);
  let assemblyFormat = "$sym_name attr-dict `:` $type";
}

def MatFormer_GetWeightOp : MatFormer_Op<"get_weight", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "reads a model parameter declared by `matformer.weight`";
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs MatFormer_Weight:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Model ops
//===----------------------------------------------------------------------===//

def MatFormer_EmbedOp : MatFormer_Op<"embed", [Pure]> {
  let summary = "token embedding lookup: result[t] = table[tokens[t]]";
  let arguments = (ins 1DTensorOf<[AnySignlessInteger]>:$tokens, MatFormer_Weight:$table);
  let results = (outs MatFormer_Activations:$result);
  let assemblyFormat = [{
    $tokens `,` $table attr-dict `:` type($tokens) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def MatFormer_RmsNormOp : MatFormer_Op<"rms_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm over the last dimension: x * rsqrt(mean(x^2) + eps) * w";
  let arguments = (ins MatFormer_Activations:$input, MatFormer_Weight:$weight, F64Attr:$epsilon);
  let results = (outs MatFormer_Activations:$result);
  let assemblyFormat = [{
    $input `,` $weight `eps` `(` $epsilon `)` attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def MatFormer_AttentionOp : MatFormer_Op<"attention", [
    AttrSizedOperandSegments, AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "causal grouped-query self-attention with RoPE, projections included";
  let description = [{
    `o_proj(softmax(mask(rope(q) rope(k)^T / sqrt(head_dim))) v)` with
    q/k/v = input times the transposed projection weights, RoPE in the
    rotate-half layout, query head j served by KV head
    j / (num_heads / num_kv_heads).

    Without a cache, row t of `input` sits at position t and attends to rows
    0..t. With `kv_cache(%k, %v) at %start`, row t sits at position
    start + t: its K/V are written to cache rows start + t, and it attends to
    cache rows 0..start + t (the earlier rows hold the K/V of previous
    calls). The K cache is [max_positions, num_kv_heads, head_dim] (a row per
    position, contiguous along head_dim for q.k); the V cache is
    [num_kv_heads, head_dim, max_positions] (contiguous along positions, the
    reduction of probs x V).
  }];
  let arguments = (ins MatFormer_Activations:$input,
                       MatFormer_Weight:$wq, MatFormer_Weight:$wk,
                       MatFormer_Weight:$wv, MatFormer_Weight:$wo,
                       Optional<MemRefRankOf<[F32], [3]>>:$k_cache,
                       Optional<MemRefRankOf<[F32], [3]>>:$v_cache,
                       Optional<Index>:$start_pos,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_heads,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_kv_heads,
                       ConfinedAttr<I64Attr, [IntPositive]>:$head_dim,
                       F64Attr:$rope_theta);
  let results = (outs MatFormer_Activations:$result);
  let assemblyFormat = [{
    $input `,` `q` $wq `,` `k` $wk `,` `v` $wv `,` `o` $wo
    `heads` `(` $num_heads `,` $num_kv_heads `)` `head_dim` `(` $head_dim `)`
    `rope_theta` `(` $rope_theta `)`
    (`kv_cache` `(` $k_cache^ `,` $v_cache `)` `at` $start_pos)? attr-dict
    `:` type($input) `,` type($wq) `,` type($wk) `,` type($wv) `,` type($wo)
    (`,` type($k_cache)^ `,` type($v_cache))?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    bool hasKvCache() { return getKCache() != nullptr; }
  }];
}

def MatFormer_CausalAttentionOp : MatFormer_Op<"causal_attention", [Pure,
    AllTypesMatch<["query", "result"]>]> {
  let summary = "the attention core: causal grouped-query softmax(q k^T scale) v";
  let description = [{
    What is left of `matformer.attention` once the projections, RoPE and the
    cache writes are lowered (`convert-matformer-to-linalg`): one op, so a
    back end can lower it as a whole (a fused, flash-style kernel that never
    materializes the [heads, tokens, positions] scores) or by parts.

    `query` is [T, heads, head_dim]: row t sits at position start_pos + t
    (start_pos is 0 when absent). `keys` is [S, kv_heads, head_dim] and
    `values` is [kv_heads, head_dim, S] (positions innermost, the KV cache's
    layout), both holding positions 0..S-1. Query head h reads KV head
    h / (heads / kv_heads). For every t and h:

    ```
    p[s] = softmax over s <= start_pos + t, s < S of
           scale * sum_d query[t, h, d] * keys[s, h / group, d]
    result[t, h, d] = sum_s p[s] * values[h / group, d, s]
    ```

    Position 0 is always visible, so every row attends to something as long
    as S >= 1. All values are f32.

    ```mlir
    %o = matformer.causal_attention %q, %k, %v at %start scale(2.500000e-01)
           : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
    ```
  }];
  let arguments = (ins TensorRankOf<[F32], [3]>:$query,
                       TensorRankOf<[F32], [3]>:$keys,
                       TensorRankOf<[F32], [3]>:$values,
                       Optional<Index>:$start_pos,
                       F64Attr:$scale);
  let results = (outs TensorRankOf<[F32], [3]>:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values (`at` $start_pos^)? `scale` `(` $scale `)`
    attr-dict `:` type($query) `,` type($keys) `,` type($values)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNumHeads() { return getQuery().getType().getDimSize(1); }
    int64_t getNumKvHeads() { return getKeys().getType().getDimSize(1); }
    int64_t getHeadDim() { return getQuery().getType().getDimSize(2); }
  }];
}

def MatFormer_CausalAttentionGradOp : MatFormer_Op<"causal_attention_grad", [
    Pure, AllTypesMatch<["query", "query_grad"]>,
    AllTypesMatch<["keys", "keys_grad"]>,
    AllTypesMatch<["values", "values_grad"]>]> {
  let summary = "the backward of `matformer.causal_attention`";
  let description = [{
    Given the operands of a `matformer.causal_attention` (same layouts, same
    start_pos, same scale) and `result_grad` = dL/d(result), [T, heads,
    head_dim], returns dL/d(query), dL/d(keys) and dL/d(values) in the
    layouts of query, keys and values. The probabilities are recomputed,
    not taken from the forward. With g = h / (heads / kv_heads) and the
    forward's mask s <= start_pos + t:

    ```
    P[t, h, s]  = softmax over visible s of scale * sum_d query[t, h, d] * keys[s, g, d]
                  (0 where s is masked)
    dV[g, d, s] = sum over t and heads h of group g of P[t, h, s] * dO[t, h, d]
    dP[t, h, s] = sum_d dO[t, h, d] * values[g, d, s]
    dS[t, h, s] = P[t, h, s] * (dP[t, h, s] - sum_s' P[t, h, s'] * dP[t, h, s'])
    dQ[t, h, d] = scale * sum_s dS[t, h, s] * keys[s, g, d]
    dK[s, g, d] = scale * sum over t and heads h of group g of dS[t, h, s] * query[t, h, d]
    ```

    where dO is `result_grad`. Masked positions get P = 0, hence dS = 0: a
    key or value that no query sees gets a zero gradient. All values are f32.

    ```mlir
    %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do at %start
           scale(2.500000e-01)
           : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x4x16xf32>
    ```
  }];
  let arguments = (ins TensorRankOf<[F32], [3]>:$query,
                       TensorRankOf<[F32], [3]>:$keys,
                       TensorRankOf<[F32], [3]>:$values,
                       TensorRankOf<[F32], [3]>:$result_grad,
                       Optional<Index>:$start_pos,
                       F64Attr:$scale);
  let results = (outs TensorRankOf<[F32], [3]>:$query_grad,
                      TensorRankOf<[F32], [3]>:$keys_grad,
                      TensorRankOf<[F32], [3]>:$values_grad);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `,` $result_grad (`at` $start_pos^)?
    `scale` `(` $scale `)` attr-dict
    `:` type($query) `,` type($keys) `,` type($values) `,` type($result_grad)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNumHeads() { return getQuery().getType().getDimSize(1); }
    int64_t getNumKvHeads() { return getKeys().getType().getDimSize(1); }
    int64_t getHeadDim() { return getQuery().getType().getDimSize(2); }
  }];
}

def MatFormer_NestedFfnOp : MatFormer_Op<"nested_ffn", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "a gated FFN that uses only the first `width` of its hidden neurons";
  let description = [{
    `down[:, :w] (act(gate[:w] x) * up[:w] x)` where the weights hold the
    universal d_ff neurons and w is the width chosen for this layer. The
    width is one of:
    - absent: not chosen yet (the importer's output; `matformer-specialize-mix` sets it);
    - a static attribute, `width 128` (a specialized submodel; 0 removes the FFN);
    - an SSA `index` value, `runtime_width %w` (elastic: chosen at run time).
    `granularities` lists the widths the model was trained at, when known.

    ```mlir
    %y = matformer.nested_ffn %x, %gate, %up, %down act silu
           granularities #matformer.granularities<[16, 32, 64, 128]> width 32
           : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
    ```
  }];
  let arguments = (ins MatFormer_Activations:$input,
                       MatFormer_Weight:$gate, MatFormer_Weight:$up,
                       MatFormer_Weight:$down,
                       Optional<Index>:$dynamic_width,
                       MatFormer_ActivationKind:$activation,
                       OptionalAttr<MatFormer_GranularitiesAttr>:$granularities,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntNonNegative]>>:$static_width);
  let results = (outs MatFormer_Activations:$result);
  let assemblyFormat = [{
    $input `,` $gate `,` $up `,` $down `act` $activation
    (`granularities` $granularities^)?
    (`width` $static_width^)? (`runtime_width` $dynamic_width^)? attr-dict
    `:` type($input) `,` type($gate) `,` type($up) `,` type($down)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// d_ff of the universal weights: the most neurons this FFN can use.
    int64_t getMaxWidth();
    /// True once a width (static or dynamic) has been chosen.
    bool hasWidth() { return getStaticWidth() || getDynamicWidth(); }
  }];
}

def MatFormer_LmHeadOp : MatFormer_Op<"lm_head", [Pure]> {
  let summary = "logits = input * weight^T over the vocabulary";
  let arguments = (ins MatFormer_Activations:$input, MatFormer_Weight:$weight);
  let results = (outs MatFormer_Activations:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

def MatFormer_DecoderLayerOp : MatFormer_Op<"decoder_layer", [
    RecursiveMemoryEffects, SingleBlock,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "one transformer block, the unit that Mix'n'Match can skip";
  let description = [{
    The body maps the hidden state (its block argument) to the next hidden
    state. `index` is the layer's number in the universal checkpoint, kept
    when earlier layers are skipped so weights keep their names.

    ```mlir
    %h1 = matformer.decoder_layer 0 (%h0) : tensor<?x64xf32> {
    ^bb0(%x: tensor<?x64xf32>):
      ...
      matformer.yield %y : tensor<?x64xf32>
    }
    ```
  }];
  let arguments = (ins MatFormer_Activations:$input,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$index);
  let results = (outs MatFormer_Activations:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $index `(` $input `)` attr-dict `:` type($input) $body
  }];
  let hasRegionVerifier = 1;
}

def MatFormer_YieldOp : MatFormer_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"DecoderLayerOp">]> {
  let summary = "ends a decoder layer with its output hidden state";
  let arguments = (ins MatFormer_Activations:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

#endif
