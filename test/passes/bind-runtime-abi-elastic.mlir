// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.elastic} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix --matformer-verify-nesting --matformer-weights-to-arguments --matformer-bind-runtime-abi | FileCheck %s

// Elastic: specialization leaves the function alone; every layer keeps a
// cache slot and all weights stay arguments; each layer loads its width from
// %widths on every call and is skipped when the width is -1.
// CHECK: func.func @matc_forward_impl({{.*}}%[[KC:[a-z0-9_]+]]: memref<3x32x1x4xf32> {matformer.abi_arg = "k_cache"}, %{{[a-z0-9_]+}}: memref<3x1x4x32xf32> {matformer.abi_arg = "v_cache"}, %[[WIDTHS:[a-z0-9_]+]]: memref<3xi64> {matformer.abi_arg = "layer_widths"},
// CHECK-SAME: {matformer.weight = "model.layers.1.mlp.down_proj.weight"}
// CHECK-SAME: attributes {matformer.elastic}
// CHECK: %[[SLOT1:.*]] = arith.constant 1 : index
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[W1:.*]] = memref.load %[[WIDTHS]][%[[C1]]] : memref<3xi64>
// CHECK: %[[W1I:.*]] = arith.index_cast %[[W1]] : i64 to index
// CHECK: %[[SKIP:.*]] = arith.cmpi slt, %[[W1]], %{{.*}} : i64
// CHECK: %[[OUT:.*]] = scf.if %[[SKIP]] -> (tensor<?x8xf32>) {
// CHECK-NEXT: scf.yield %[[IN:.*]] : tensor<?x8xf32>
// CHECK-NEXT: } else {
// CHECK-NEXT: %[[LAYER:.*]] = matformer.decoder_layer 1(%[[IN]])
// CHECK: memref.subview %[[KC]][%[[SLOT1]], 0, 0, 0]
// CHECK: matformer.nested_ffn {{.*}} granularities <[2, 4, 8, 16]> runtime_width %[[W1I]] :
// CHECK: scf.yield %[[LAYER]]
