// RUN: matc-opt %s -split-input-file --convert-matformer-to-linalg --canonicalize | FileCheck %s

// RMSNorm: a sum of squares over the hidden dimension, then a scale.
// CHECK-LABEL: func.func @rms_norm
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.divf
// CHECK: math.rsqrt
// CHECK-NOT: matformer.
func.func @rms_norm(%x: tensor<?x8xf32>, %w: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// A static width slices the universal weights at offset 0 (views, no copies):
// gate and up rows [0, 4), down columns [0, 4).
// CHECK-LABEL: func.func @ffn_static
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [4, 8] [1, 1] : tensor<16x8xf32> to tensor<4x8xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<4x8xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [4, 8] [1, 1] : tensor<16x8xf32> to tensor<4x8xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<4x8xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// The gate's activation: silu = x / (1 + exp(-x)), times up.
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [8, 4] [1, 1] : tensor<8x16xf32> to tensor<8x4xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<8x4xf32>) outs(%{{.*}} : tensor<?x8xf32>)
func.func @ffn_static(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %u: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %y = matformer.nested_ffn %x, %g, %u, %d act silu granularities <[4, 16]> width 4
      : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %y : tensor<?x8xf32>
}

// -----

// A run-time width is a dynamic slice size of the same views.
// CHECK-LABEL: func.func @ffn_runtime(
// CHECK-SAME: %[[W:[a-z0-9]+]]: index
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [%[[W]], 8] [1, 1] : tensor<16x8xf32> to tensor<?x8xf32>
// GeGLU uses tanh.
// CHECK: math.tanh
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [8, %[[W]]] [1, 1] : tensor<8x16xf32> to tensor<8x?xf32>
func.func @ffn_runtime(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>, %w: index) -> tensor<?x8xf32> {
  %y = matformer.nested_ffn %x, %g, %g, %d act gelu_tanh runtime_width %w
      : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Width 0 computes nothing: zeros.
// CHECK-LABEL: func.func @ffn_zero
// CHECK-NOT: linalg.generic
// CHECK: linalg.fill
// CHECK-NOT: linalg.generic
func.func @ffn_zero(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %y = matformer.nested_ffn %x, %g, %g, %d act silu width 0
      : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Embedding: a gather by token id.
// CHECK-LABEL: func.func @embed
// CHECK: linalg.generic
// CHECK: arith.index_cast
// CHECK: linalg.index 1
// CHECK: tensor.extract
// bf16 tables widen to f32.
// CHECK: arith.extf {{.*}} : bf16 to f32
func.func @embed(%t: tensor<?xi32>, %table: tensor<16x8xbf16>) -> tensor<?x8xf32> {
  %y = matformer.embed %t, %table : tensor<?xi32>, tensor<16x8xbf16> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Attention without a cache: the projections and RoPE on q and k become
// linalg; the core (scores, causal softmax, PV) stays one
// matformer.causal_attention on [T, heads, d] queries, [T, kv_heads, d] keys
// and [kv_heads, d, T] values, scaled by 1/sqrt(4); its [T, heads, d] result
// is flattened for the output projection.
// CHECK-LABEL: func.func @attention
// CHECK: tensor.expand_shape {{.*}} into tensor<?x2x4xf32>
// RoPE: cos and sin once per (token, frequency), [T, d/2], shared by the
// heads; the rotation reads them per token.
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} outs(%{{.*}}, %{{.*}} : tensor<?x2xf32>, tensor<?x2xf32>)
// CHECK: math.cos
// CHECK: math.sin
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x2x2xf32>, tensor<?x2x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>)
// CHECK-NOT: arith.maximumf
// CHECK: %[[CORE:.*]] = matformer.causal_attention %{{.*}}, %{{.*}}, %{{.*}} scale(5.000000e-01) : tensor<?x2x4xf32>, tensor<?x1x4xf32>, tensor<1x4x?xf32>
// CHECK-NOT: arith.maximumf
// CHECK: tensor.collapse_shape %[[CORE]] {{.*}} into tensor<?x8xf32>
// CHECK-NOT: bufferization.
// CHECK-NOT: arith.maximumf
// CHECK: return
func.func @attention(%x: tensor<?x8xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>) -> tensor<?x8xf32> {
  %y = matformer.attention %x, q %q, k %k, v %k, o %o heads(2, 1) head_dim(4) rope_theta(1.0e4)
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// With a cache: this call's K and V rows go to cache rows [start, start+T),
// then all rows [0, start+T) are read back.
// CHECK-LABEL: func.func @attention_cached(
// CHECK-SAME: %[[KC:[a-z0-9]+]]: memref<16x1x4xf32>, %[[VC:[a-z0-9]+]]: memref<1x4x16xf32>, %[[START:[a-z0-9]+]]: index
// V is transposed to [kv_heads, head_dim, T], positions innermost.
// CHECK: linalg.transpose {{.*}} permutation = [1, 2, 0]
// CHECK: %[[KDST:.*]] = memref.subview %[[KC]][%[[START]], 0, 0]
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[KDST]]
// CHECK: %[[VDST:.*]] = memref.subview %[[VC]][0, 0, %[[START]]]
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[VDST]]
// CHECK: %[[TOTAL:.*]] = arith.addi %[[START]]
// CHECK: %[[KALL:.*]] = memref.subview %[[KC]][0, 0, 0] [%[[TOTAL]], 1, 4]
// CHECK: %[[KEYS:.*]] = bufferization.to_tensor %[[KALL]] restrict
// CHECK: %[[VALL:.*]] = memref.subview %[[VC]][0, 0, 0] [1, 4, %[[TOTAL]]]
// CHECK: %[[VALUES:.*]] = bufferization.to_tensor %[[VALL]] restrict
// The core attends from row t at position start + t to positions [0, start + t].
// CHECK: matformer.causal_attention %{{.*}}, %[[KEYS]], %[[VALUES]] at %[[START]] scale(5.000000e-01)
func.func @attention_cached(%x: tensor<?x8xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>,
                            %kc: memref<16x1x4xf32>, %vc: memref<1x4x16xf32>, %start: index) -> tensor<?x8xf32> {
  %y = matformer.attention %x, q %q, k %k, v %k, o %o heads(2, 1) head_dim(4) rope_theta(1.0e4) kv_cache(%kc, %vc) at %start
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x1x4xf32>, memref<1x4x16xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Decoder layers are inlined; the LM head is a matmul against [vocab, hidden].
// CHECK-LABEL: func.func @layer_and_head
// CHECK-NOT: matformer.
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<?x16xf32>)
func.func @layer_and_head(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %head: tensor<16x8xf32>) -> tensor<?x16xf32> {
  %h = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    %n = matformer.rms_norm %y, %w eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    matformer.yield %n : tensor<?x8xf32>
  }
  %l = matformer.lm_head %h, %head : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %l : tensor<?x16xf32>
}

// -----

// A layer holding attention against the cache and an FFN, as an .mlir input
// may have it (matc outlines layers first): the layer is inlined and all of
// it lowered but the attention core; weight declarations are left alone.
// CHECK: matformer.weight @model.norm.weight : tensor<8xf32>
// CHECK-LABEL: func.func @layer_with_attention
// CHECK-NOT: matformer.decoder_layer
// CHECK-NOT: matformer.yield
// CHECK-NOT: matformer.attention
// CHECK: bufferization.materialize_in_destination
// CHECK: matformer.causal_attention {{.*}} at %{{.*}} scale(5.000000e-01)
// CHECK-NOT: matformer.
// CHECK: return
matformer.weight @"model.norm.weight" : tensor<8xf32>
func.func @layer_with_attention(%x: tensor<?x8xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>,
                                %g: tensor<16x8xf32>, %d: tensor<8x16xf32>,
                                %kc: memref<16x1x4xf32>, %vc: memref<1x4x16xf32>, %start: index) -> tensor<?x8xf32> {
  %h = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    %a = matformer.attention %y, q %q, k %k, v %k, o %o heads(2, 1) head_dim(4) rope_theta(1.0e4) kv_cache(%kc, %vc) at %start
        : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x1x4xf32>, memref<1x4x16xf32>
    %r = arith.addf %y, %a : tensor<?x8xf32>
    %f = matformer.nested_ffn %r, %g, %g, %d act silu width 8
        : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %h : tensor<?x8xf32>
}

// -----

// The backward of the attention core becomes linalg here, in the shared
// middle: q and dO grouped as [T, kv_heads, group, d]; the [kv_heads, group,
// T, S] scores as a contraction over d; the probabilities recomputed (row
// max over visible positions, exp of the max-subtracted scores, 0 where
// masked, divided by the row sum); then dV, dP, rowDot = sum_s P dP,
// scale * P (dP - rowDot), dQ and dK, each a contraction or a row reduction.
// CHECK-LABEL: func.func @causal_attention_grad(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x4x8xf32>, %[[K:[a-z0-9]+]]: tensor<?x2x8xf32>, %[[V:[a-z0-9]+]]: tensor<2x8x?xf32>, %[[DO:[a-z0-9]+]]: tensor<?x4x8xf32>, %[[START:[a-z0-9]+]]: index
// CHECK-NOT: matformer.
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
// CHECK: %[[GQ:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2], [3]] {{.*}} into tensor<?x2x2x8xf32>
// CHECK: %[[GDO:.*]] = tensor.expand_shape %[[DO]] {{\[}}[0], [1, 2], [3]] {{.*}} into tensor<?x2x2x8xf32>
// Scores: a contraction over head_dim.
// CHECK: %[[SCORES:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[GQ]], %[[K]] : tensor<?x2x2x8xf32>, tensor<?x2x8xf32>) outs(%{{.*}} : tensor<2x2x?x?xf32>)
// CHECK: arith.mulf {{.*}} fastmath<reassoc,contract>
// Row max over the visible positions s <= start + t.
// CHECK: %[[MAXINIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32) {{.*}} -> tensor<2x2x?xf32>
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[SCORES]] : tensor<2x2x?x?xf32>) outs(%[[MAXINIT]] : tensor<2x2x?xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: arith.maximumf
// CHECK: %[[T:.*]] = linalg.index 2
// CHECK: %[[S:.*]] = linalg.index 3
// CHECK: %[[LAST:.*]] = arith.addi %[[START]], %[[T]]
// CHECK: arith.cmpi ule, %[[S]], %[[LAST]]
// exp(scale * score - max), 0 where masked.
// CHECK: %[[EXP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[SCORES]], %[[MAX]] : {{.*}}) outs(%[[SCORES]] :
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.cmpi ule
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[ZERO]]
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[EXP]] : {{.*}}) outs(%{{.*}} : tensor<2x2x?xf32>)
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[EXP]], %[[SUM]] : {{.*}}) outs(%[[EXP]] :
// CHECK: arith.divf
// dV[kh, d, s]: sums over the group's heads and the tokens.
// CHECK: %[[DV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[P]], %[[GDO]] : tensor<2x2x?x?xf32>, tensor<?x2x2x8xf32>) outs(%{{.*}} : tensor<2x8x?xf32>)
// dP[kh, g, t, s]: a contraction over head_dim against V.
// CHECK: %[[DP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[GDO]], %[[V]] : tensor<?x2x2x8xf32>, tensor<2x8x?xf32>) outs(%{{.*}} : tensor<2x2x?x?xf32>)
// CHECK: %[[ROWDOT:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[P]], %[[DP]] : {{.*}}) outs(%{{.*}} : tensor<2x2x?xf32>)
// CHECK: %[[DS:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[DP]], %[[ROWDOT]] : {{.*}}) outs(%[[DP]] :
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// dQ over the positions, back to [T, heads, d]; dK over the group's heads and the tokens.
// CHECK: %[[GDQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[DS]], %[[K]] : tensor<2x2x?x?xf32>, tensor<?x2x8xf32>) outs(%{{.*}} : tensor<?x2x2x8xf32>)
// CHECK: %[[DQ:.*]] = tensor.collapse_shape %[[GDQ]] {{\[}}[0], [1, 2], [3]] : tensor<?x2x2x8xf32> into tensor<?x4x8xf32>
// CHECK: %[[DK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[DS]], %[[GQ]] : tensor<2x2x?x?xf32>, tensor<?x2x2x8xf32>) outs(%{{.*}} : tensor<?x2x8xf32>)
// CHECK-NOT: matformer.
// CHECK: return %[[DQ]], %[[DK]], %[[DV]]
func.func @causal_attention_grad(%q: tensor<?x4x8xf32>, %k: tensor<?x2x8xf32>, %v: tensor<2x8x?xf32>,
                                 %do: tensor<?x4x8xf32>, %start: index)
    -> (tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<2x8x?xf32>) {
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do at %start scale(0.25)
      : tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<2x8x?xf32>, tensor<?x4x8xf32>
  return %dq, %dk, %dv : tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<2x8x?xf32>
}

// -----

// Without a start position, row t sees positions [0, t]; static shapes stay
// static, so the gradients need no cast.
// CHECK-LABEL: func.func @causal_attention_grad_static
// CHECK: %[[T:.*]] = linalg.index 2
// CHECK: %[[S:.*]] = linalg.index 3
// CHECK: arith.cmpi ule, %[[S]], %[[T]]
// CHECK-NOT: tensor.cast
// CHECK-NOT: matformer.
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}} : tensor<3x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x3xf32>
func.func @causal_attention_grad_static(%q: tensor<3x2x4xf32>, %k: tensor<3x1x4xf32>, %v: tensor<1x4x3xf32>,
                                        %do: tensor<3x2x4xf32>)
    -> (tensor<3x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x3xf32>) {
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.5)
      : tensor<3x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x3xf32>, tensor<3x2x4xf32>
  return %dq, %dk, %dv : tensor<3x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x3xf32>
}

// -----

// Keys with a static position count fix dV's positions too: the gradient is
// cast back to the values' (dynamic) type.
// CHECK-LABEL: func.func @causal_attention_grad_cast
// CHECK: %[[DV:.*]] = tensor.cast %{{.*}} : tensor<1x4x3xf32> to tensor<1x4x?xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[DV]] : tensor<2x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x?xf32>
func.func @causal_attention_grad_cast(%q: tensor<2x2x4xf32>, %k: tensor<3x1x4xf32>, %v: tensor<1x4x?xf32>,
                                      %do: tensor<2x2x4xf32>, %start: index)
    -> (tensor<2x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x?xf32>) {
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do at %start scale(0.5)
      : tensor<2x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x?xf32>, tensor<2x2x4xf32>
  return %dq, %dk, %dv : tensor<2x2x4xf32>, tensor<3x1x4xf32>, tensor<1x4x?xf32>
}

// -----

// Cross entropy: the row maximum, the sum of exp(x - max), logsumexp, minus
// the target's logit (read by index), summed over rows, then / rows.
// CHECK-LABEL: func.func @cross_entropy_mean
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: math.log
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK: linalg.index 0
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<?x16xf32>
// CHECK: arith.subf
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: tensor.dim
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK-NOT: matformer.
func.func @cross_entropy_mean(%logits: tensor<?x16xf32>, %targets: tensor<?xi32>) -> tensor<f32> {
  %l = matformer.cross_entropy %logits, %targets reduction mean : tensor<?x16xf32>, tensor<?xi32> -> tensor<f32>
  return %l : tensor<f32>
}
