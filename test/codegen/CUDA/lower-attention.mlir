// RUN: matc-opt %s -split-input-file --matc-cuda-lower-attention | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cuda-lower-attention=max-query-registers=8 | FileCheck %s --check-prefix=RELOAD
// RUN: matc-opt %s -split-input-file --matc-cuda-lower-attention=query-tile=32 | FileCheck %s --check-prefix=TILE32
// RUN: not matc-opt %s -split-input-file --matc-cuda-lower-attention=query-tile=0 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: matc-cuda-lower-attention: query-tile must be in [1, 1024], got 0

// Against the cache, GQA (4 heads on 2 KV heads): one gpu.launch named
// matc_attention, blocks (ceil(T / 64), heads), 64 threads; thread x of
// block (qt, h) is query row t = qt * 64 + x of head h, reading KV head h / 2
// and keys s < min(start + t + 1, S). The online softmax's max (-inf), sum
// (0) and 16 accumulators (0) are the loop's 18 iter_args; the row of Q is
// loaded once, before the loop.
// CHECK-LABEL: func.func @cached(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<2x16x?xf32>, %[[START:[a-z0-9]+]]: index
// CHECK-NOT: matformer.
// CHECK-DAG: %[[QB:.*]] = bufferization.to_buffer %[[Q]] read_only : tensor<?x4x16xf32> to memref<?x4x16xf32, strided<[?, ?, 1], offset: ?>>
// CHECK-DAG: %[[KB:.*]] = bufferization.to_buffer %[[K]] read_only
// CHECK-DAG: %[[VB:.*]] = bufferization.to_buffer %[[V]] read_only
// CHECK: %[[T:.*]] = memref.dim %[[QB]], %c0
// CHECK: %[[OUT:.*]] = memref.alloc(%[[T]]) : memref<?x4x16xf32>
// CHECK: %[[TILES:.*]] = arith.ceildivui %[[T]], %[[TILE:[a-z0-9_]+]] : index
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{.*}}) in (%{{.*}} = %[[TILES]], %{{.*}} = %c4, %{{.*}} = %c1) threads(%[[TX:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[TILE]], %{{.*}} = %c1, %{{.*}} = %c1) module(@matc_attention) function(@matc_attention)
// CHECK: %[[ROW0:.*]] = arith.muli %[[BX]], %[[TILE]]
// CHECK: %[[ROW:.*]] = arith.addi %[[ROW0]], %[[TX]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ROW]], %[[T]]
// CHECK: scf.if %[[IN]] {
// CHECK: %[[KVH:.*]] = arith.divui %[[BY]], %c2
// CHECK: %[[S:.*]] = memref.dim %[[KB]], %c0
// CHECK: %[[POS:.*]] = arith.addi %[[START]], %[[ROW]]
// CHECK: %[[VISIBLE:.*]] = arith.addi %[[POS]], %c1
// CHECK: %[[END:.*]] = arith.minui %[[VISIBLE]], %[[S]]
// CHECK-COUNT-16: memref.load %[[QB]][%[[ROW]], %[[BY]], %{{.*}}]
// CHECK: %[[LOOP:[a-z0-9_]+]]:18 = scf.for %[[KEY:[a-z0-9_]+]] = %c0{{.*}} to %[[END]] step %c1{{.*}} iter_args(%[[MAX:[a-z0-9_]+]] = %cst{{[_0-9]*}}, %[[SUM:[a-z0-9_]+]] = %cst
// Score: q . k over head_dim, times the scale.
// CHECK-COUNT-16: memref.load %[[KB]][%[[KEY]], %[[KVH]], %{{.*}}]
// CHECK: %[[SCORE:.*]] = arith.mulf %{{.*}}, %cst
// CHECK: %[[NEWMAX:.*]] = arith.maximumf %[[MAX]], %[[SCORE]]
// CHECK: %[[D1:.*]] = arith.subf %[[MAX]], %[[NEWMAX]]
// CHECK: %[[RESCALE:.*]] = math.exp %[[D1]]
// CHECK: %[[D2:.*]] = arith.subf %[[SCORE]], %[[NEWMAX]]
// CHECK: %[[WEIGHT:.*]] = math.exp %[[D2]]
// CHECK: %[[NEWSUM:.*]] = math.fma %[[SUM]], %[[RESCALE]], %[[WEIGHT]]
// acc[d] = acc[d] * rescale + weight * v[kv_head, d, s] (positions innermost)
// CHECK: %[[V0:.*]] = memref.load %[[VB]][%[[KVH]], %{{.*}}, %[[KEY]]]
// CHECK: %[[A0:.*]] = arith.mulf %{{.*}}, %[[RESCALE]]
// CHECK: math.fma %[[WEIGHT]], %[[V0]], %[[A0]]
// CHECK: scf.yield %[[NEWMAX]], %[[NEWSUM]],
// CHECK: %[[INV:.*]] = arith.divf %{{.*}}, %[[LOOP]]#1
// CHECK: %[[O0:.*]] = arith.mulf %[[LOOP]]#2, %[[INV]]
// CHECK: memref.store %[[O0]], %[[OUT]][%[[ROW]], %[[BY]], %{{.*}}]
// CHECK-COUNT-15: memref.store
// CHECK: gpu.terminator
// CHECK: %[[RESULT:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[RESULT]]

// With head_dim above max-query-registers, Q is re-read per key instead.
// RELOAD-LABEL: func.func @cached(
// RELOAD: scf.if
// RELOAD-NOT: memref.load
// RELOAD: scf.for
// RELOAD-COUNT-16: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x4x16xf32, strided<[?, ?, 1], offset: ?>>

// TILE32-LABEL: func.func @cached(
// TILE32: %[[TILE:.*]] = arith.constant 32 : index
// TILE32: arith.ceildivui %{{.*}}, %[[TILE]]
// TILE32: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %[[TILE]],

func.func @cached(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %start: index) -> tensor<?x4x16xf32> {
  %o = matformer.causal_attention %q, %k, %v at %start scale(2.500000e-01) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
  return %o : tensor<?x4x16xf32>
}

// -----

// Static shapes without a start position (start 0): one tile of 5 rows,
// one block per head (grid 1 x 2), keys s < min(t + 1, 5).
// CHECK-LABEL: func.func @static_prefill(
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<5x2x8xf32>
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c2, %{{.*}} = %c1)
// CHECK: %[[ROW:.*]] = arith.addi
// CHECK: arith.cmpi ult, %[[ROW]], %c5
// CHECK: %[[VISIBLE:.*]] = arith.addi %[[ROW]], %c1
// CHECK: %[[END:.*]] = arith.minui %[[VISIBLE]], %c5
// CHECK: scf.for %{{.*}} = %c0 to %[[END]] {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable : memref<5x2x8xf32> to tensor<5x2x8xf32>
func.func @static_prefill(%q: tensor<5x2x8xf32>, %k: tensor<5x2x8xf32>, %v: tensor<2x8x5xf32>) -> tensor<5x2x8xf32> {
  %o = matformer.causal_attention %q, %k, %v scale(0.35355339059327379) : tensor<5x2x8xf32>, tensor<5x2x8xf32>, tensor<2x8x5xf32>
  return %o : tensor<5x2x8xf32>
}
