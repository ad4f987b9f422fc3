// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-verify-nesting --matformer-bind-runtime-abi="elastic=1" | FileCheck %s
// RUN: not matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S" --matformer-bind-runtime-abi="elastic=1" 2>&1 | FileCheck %s --check-prefix=SPECIALIZED

// Elastic: every layer keeps a cache slot and all weights stay arguments;
// each layer loads its width from %widths on every call and is skipped when
// the width is -1.
// CHECK: matformer.abi.elastic
// CHECK-SAME: "model.layers.1.mlp.down_proj.weight"
// CHECK: func.func @matc_forward_impl({{.*}}%[[KC:[a-z0-9_]+]]: memref<3x32x1x4xf32>, %{{[a-z0-9_]+}}: memref<3x1x4x32xf32>, %[[WIDTHS:[a-z0-9_]+]]: memref<3xi64>,
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[W1:.*]] = memref.load %[[WIDTHS]][%[[C1]]] : memref<3xi64>
// CHECK: %[[W1I:.*]] = arith.index_cast %[[W1]] : i64 to index
// CHECK: %[[SKIP:.*]] = arith.cmpi slt, %[[W1]], %{{.*}} : i64
// CHECK: %[[OUT:.*]] = scf.if %[[SKIP]] -> (tensor<?x8xf32>) {
// CHECK-NEXT: scf.yield %[[IN:.*]] : tensor<?x8xf32>
// CHECK-NEXT: } else {
// CHECK-NEXT: %[[LAYER:.*]] = matformer.decoder_layer 1(%[[IN]])
// CHECK: matformer.nested_ffn {{.*}} granularities <[2, 4, 8, 16]> runtime_width %[[W1I]] :
// CHECK: scf.yield %[[LAYER]]

// SPECIALIZED: error: an elastic module must not be specialized, but it has mix #matformer.mix<[2, 2, 2]>
