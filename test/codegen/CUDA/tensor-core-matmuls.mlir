// RUN: matc-opt %s -split-input-file --matc-cuda-tensor-core-matmuls | FileCheck %s

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>

// A projection with bf16 weights, [T, 64] x [32, 64]^T: one warp per 16 x 8
// tile (grid ceil(T / 16) x 4), four K steps of 16. Lane l is in group
// g = l / 4 at t = l % 4; it reads A rows m0 + g and m0 + g + 8 (clamped to
// the last row) at columns k0 + 2t (+1) and k0 + 2t + 8 (+9), and weight
// row n0 + g at the same columns; pairs are rounded to bf16 and packed low
// first. The accumulators start from `out` and are stored for rows < T.
// CHECK-LABEL: func.func @bf16_weights(
// CHECK-SAME: %[[A:[a-z0-9]+]]: memref<?x64xf32>, %[[W:[a-z0-9]+]]: memref<32x64xbf16>, %[[OUT:[a-z0-9]+]]: memref<?x32xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[T:.*]] = memref.dim %[[A]], %c0
// CHECK: %[[TILES:.*]] = arith.ceildivui %[[T]], %c16
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9]+]], %[[BY:[a-z0-9]+]], %{{.*}}) in (%{{.*}} = %[[TILES]], %{{.*}} = %c4{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[LANE:[a-z0-9]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c32{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}})
// CHECK: %[[G:.*]] = arith.divui %[[LANE]], %c4
// CHECK: %[[TIG:.*]] = arith.remui %[[LANE]], %c4
// CHECK: %[[M0:.*]] = arith.muli %[[BX]], %c16
// CHECK: %[[N0:.*]] = arith.muli %[[BY]], %c8
// CHECK: %[[ROW0:.*]] = arith.addi %[[M0]], %[[G]]
// CHECK: %[[ROW1:.*]] = arith.addi %[[ROW0]], %c8
// CHECK: %[[VALID0:.*]] = arith.cmpi ult, %[[ROW0]], %[[T]]
// CHECK: %[[VALID1:.*]] = arith.cmpi ult, %[[ROW1]], %[[T]]
// CHECK: %[[SAFE0:.*]] = arith.minui %[[ROW0]]
// CHECK: %[[SAFE1:.*]] = arith.minui %[[ROW1]]
// CHECK: %[[COL:.*]] = arith.muli %[[TIG]], %c2
// CHECK: %[[OCOL:.*]] = arith.addi %[[N0]], %[[COL]]
// CHECK: %[[NROW:.*]] = arith.addi %[[N0]], %[[G]]
// CHECK: %[[C0:.*]] = memref.load %[[OUT]][%[[SAFE0]], %[[OCOL]]]
// CHECK: %[[LOOP:.*]]:4 = scf.for %[[K0:.*]] = %c0{{.*}} to %c64{{.*}} step %c16{{.*}} iter_args(%[[ACC0:.*]] = %[[C0]],
// CHECK: %[[KA:.*]] = arith.addi %[[K0]], %[[COL]]
// CHECK: %[[X:.*]] = memref.load %[[A]][%[[SAFE0]], %[[KA]]]
// CHECK: %[[XB:.*]] = arith.truncf %[[X]] : f32 to bf16
// CHECK: arith.bitcast %[[XB]] : bf16 to i16
// CHECK: arith.shli %{{.*}}, %c16_i32
// CHECK: memref.load %[[W]][%[[NROW]], %[[KA]]] : memref<32x64xbf16>
// CHECK-NOT: arith.truncf %{{.*}} : bf16
// CHECK: %[[D:.*]] = nvvm.mma.sync A[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] B[%{{.*}}, %{{.*}}] C[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK: scf.if %[[VALID0]] {
// CHECK: memref.store %[[LOOP]]#0, %[[OUT]][%[[ROW0]], %[[OCOL]]]
// CHECK: memref.store %[[LOOP]]#1, %[[OUT]][%[[ROW0]],
// CHECK: scf.if %[[VALID1]] {
// CHECK: memref.store %[[LOOP]]#2, %[[OUT]][%[[ROW1]], %[[OCOL]]]
func.func @bf16_weights(%a: memref<?x64xf32>, %w: memref<32x64xbf16>, %out: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %w : memref<?x64xf32>, memref<32x64xbf16>) outs(%out : memref<?x32xf32>) {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %e = arith.extf %y : bf16 to f32
    %p = arith.mulf %x, %e fastmath<reassoc,contract> : f32
    %s = arith.addf %acc, %p fastmath<reassoc,contract> : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>

// f32 weights are rounded like the activations.
// CHECK-LABEL: func.func @f32_weights(
// CHECK: gpu.launch
// CHECK: memref.load %{{.*}} : memref<16x32xf32>
// CHECK-NEXT: arith.truncf %{{.*}} : f32 to bf16
// CHECK: nvvm.mma.sync
func.func @f32_weights(%a: memref<5x32xf32>, %w: memref<16x32xf32>, %out: memref<5x16xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %w : memref<5x32xf32>, memref<16x32xf32>) outs(%out : memref<5x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>
#wn = affine_map<(m, n, k) -> (k, n)>

// Left alone: K not a multiple of 16 (d_ff 120), N not a multiple of 8, a
// run-time width (elastic), a non-transposed B, and another body.
// CHECK-LABEL: func.func @left_alone(
// CHECK-NOT: gpu.launch
// CHECK-NOT: nvvm.mma.sync
// CHECK-COUNT-5: linalg.generic
func.func @left_alone(%a: memref<?x120xf32>, %w: memref<48x120xf32>, %out: memref<?x48xf32>,
                      %a2: memref<?x64xf32>, %w2: memref<12x64xf32>, %out2: memref<?x12xf32>,
                      %w3: memref<?x64xf32>, %out3: memref<?x?xf32>,
                      %w4: memref<64x16xf32>, %out4: memref<?x16xf32>,
                      %w5: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %w : memref<?x120xf32>, memref<48x120xf32>) outs(%out : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a2, %w2 : memref<?x64xf32>, memref<12x64xf32>) outs(%out2 : memref<?x12xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a2, %w3 : memref<?x64xf32>, memref<?x64xf32>) outs(%out3 : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #wn, #o], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a2, %w4 : memref<?x64xf32>, memref<64x16xf32>) outs(%out4 : memref<?x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a2, %w5 : memref<?x64xf32>, memref<16x64xf32>) outs(%out4 : memref<?x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
