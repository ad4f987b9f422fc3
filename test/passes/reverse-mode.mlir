// RUN: matc-opt %s -split-input-file --matformer-reverse-mode | FileCheck %s
// RUN: matc-opt %s -split-input-file --matformer-reverse-mode --convert-matformer-to-linalg | FileCheck %s --check-prefix=LOWERED

// A tied embedding, a norm, a nested FFN at width 4 of 8 with its residual,
// the LM head and the mean loss: the function now returns the loss and one
// gradient per weight argument, in argument order.
// CHECK-LABEL: func.func @loss
// CHECK-SAME: -> (tensor<f32>, tensor<16x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK-SAME: matformer.gradients
// CHECK-NOT: matformer.differentiate
// The forward is kept as it was.
// CHECK: %[[H:.*]] = matformer.embed
// CHECK: %[[N:.*]] = matformer.rms_norm %[[H]]
// CHECK: %[[F:.*]] = matformer.nested_ffn %[[N]]
// CHECK: %[[R:.*]] = arith.addf %[[H]], %[[F]]
// CHECK: %[[LOGITS:.*]] = matformer.lm_head %[[R]]
// CHECK: %[[LOSS:.*]] = matformer.cross_entropy %[[LOGITS]]
// The seed, then the loss's derivative (softmax minus the target indicator).
// CHECK: linalg.fill ins(%{{.*}} : f32)
// CHECK: math.exp
// CHECK: arith.cmpi eq
// LM head: d input and d table.
// CHECK: linalg.generic
// The FFN's weight gradients are padded into the universal shapes: rows
// [0, 4) of gate and up, columns [0, 4) of down.
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x8xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<8x8xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [8, 4] [1, 1] : tensor<8x4xf32> into tensor<8x8xf32>
// The embedding's scatter-add, one token row at a time.
// CHECK: scf.for
// CHECK: tensor.extract_slice
// CHECK: tensor.insert_slice
// The table gets both the LM head's and the embedding's gradients.
// CHECK: return %[[LOSS]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :
// LOWERED-LABEL: func.func @loss
// LOWERED-NOT: = matformer.
func.func @loss(%tokens: tensor<?xi32>, %targets: tensor<?xi32>,
                %table: tensor<16x8xf32> {matformer.weight = "model.embed_tokens.weight"},
                %norm: tensor<8xf32> {matformer.weight = "model.layers.0.post_attention_layernorm.weight"},
                %gate: tensor<8x8xf32> {matformer.weight = "model.layers.0.mlp.gate_proj.weight"},
                %up: tensor<8x8xf32> {matformer.weight = "model.layers.0.mlp.up_proj.weight"},
                %down: tensor<8x8xf32> {matformer.weight = "model.layers.0.mlp.down_proj.weight"})
    -> tensor<f32> attributes {matformer.differentiate} {
  %h = matformer.embed %tokens, %table : tensor<?xi32>, tensor<16x8xf32> -> tensor<?x8xf32>
  %n = matformer.rms_norm %h, %norm eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
  %f = matformer.nested_ffn %n, %gate, %up, %down act gelu_tanh width 4
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
  %r = arith.addf %h, %f : tensor<?x8xf32>
  %logits = matformer.lm_head %r, %table : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  %loss = matformer.cross_entropy %logits, %targets reduction mean : tensor<?x16xf32>, tensor<?xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// A decoder layer's backward is a function of its input, the values it
// captures and d output, which recomputes the layer's forward and sweeps it
// backwards; layers with the same body share it. An FFN at a run-time width
// slices its gradients by that width. A weight the loss does not read gets
// zeros.
// CHECK: func.func private @decoder_layer_backward(%[[X:[a-z0-9]+]]: tensor<?x8xf32>, %{{[a-z0-9]+}}: tensor<8x8xf32>, %{{[a-z0-9]+}}: tensor<8x8xf32>, %{{[a-z0-9]+}}: tensor<8x8xf32>, %[[W:[a-z0-9]+]]: index, %{{[a-z0-9]+}}: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK: matformer.nested_ffn %[[X]], {{.*}} runtime_width %[[W]]
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [%[[W]], 8] [1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [%[[W]], 8] [1, 1] : tensor<?x8xf32> into tensor<8x8xf32>
// CHECK: return
// CHECK-NOT: func.func private @decoder_layer_backward
// CHECK-LABEL: func.func @layers
// CHECK: %[[Y0:.*]] = matformer.decoder_layer 0
// CHECK: %[[Y1:.*]] = matformer.decoder_layer 1(%[[Y0]])
// CHECK: %[[B1:.*]]:4 = call @decoder_layer_backward(%[[Y0]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}})
// CHECK: %[[B0:.*]]:4 = call @decoder_layer_backward(%{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %[[B1]]#0)
// CHECK: %[[UNUSED:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: return %{{.*}}, %[[B0]]#1, %[[B0]]#2, %[[B0]]#3, %[[B1]]#1, %[[B1]]#2, %[[B1]]#3, %{{.*}}, %[[UNUSED]] :
func.func @layers(%x: tensor<?x8xf32>, %targets: tensor<?xi32>, %width: index,
                  %gate0: tensor<8x8xf32> {matformer.weight = "model.layers.0.mlp.gate_proj.weight"},
                  %up0: tensor<8x8xf32> {matformer.weight = "model.layers.0.mlp.up_proj.weight"},
                  %down0: tensor<8x8xf32> {matformer.weight = "model.layers.0.mlp.down_proj.weight"},
                  %gate1: tensor<8x8xf32> {matformer.weight = "model.layers.1.mlp.gate_proj.weight"},
                  %up1: tensor<8x8xf32> {matformer.weight = "model.layers.1.mlp.up_proj.weight"},
                  %down1: tensor<8x8xf32> {matformer.weight = "model.layers.1.mlp.down_proj.weight"},
                  %head: tensor<16x8xf32> {matformer.weight = "lm_head.weight"},
                  %unused: tensor<4xf32> {matformer.weight = "unused"})
    -> tensor<f32> attributes {matformer.differentiate} {
  %y0 = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%in: tensor<?x8xf32>):
    %f = matformer.nested_ffn %in, %gate0, %up0, %down0 act silu runtime_width %width
        : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
    %r = arith.addf %in, %f : tensor<?x8xf32>
    matformer.yield %r : tensor<?x8xf32>
  }
  %y1 = matformer.decoder_layer 1 (%y0) : tensor<?x8xf32> {
  ^bb0(%in: tensor<?x8xf32>):
    %f = matformer.nested_ffn %in, %gate1, %up1, %down1 act silu runtime_width %width
        : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
    %r = arith.addf %in, %f : tensor<?x8xf32>
    matformer.yield %r : tensor<?x8xf32>
  }
  %logits = matformer.lm_head %y1, %head : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  %loss = matformer.cross_entropy %logits, %targets reduction sum : tensor<?x16xf32>, tensor<?xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// Functions without matformer.differentiate are left alone.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: -> tensor<?x16xf32>
func.func @forward(%x: tensor<?x8xf32>, %head: tensor<16x8xf32> {matformer.weight = "lm_head.weight"}) -> tensor<?x16xf32> {
  %logits = matformer.lm_head %x, %head : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %logits : tensor<?x16xf32>
}
