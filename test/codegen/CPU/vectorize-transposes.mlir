// RUN: matc-opt %s -split-input-file --matc-cpu-vectorize-transposes=lanes=4 --canonicalize | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cpu-vectorize-transposes=lanes=4 -mlir-print-op-generic | matc-opt -split-input-file | FileCheck %s --check-prefix=ROUND
// RUN: not matc-opt %s -split-input-file --matc-cpu-vectorize-transposes=lanes=6 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: matc-cpu-vectorize-transposes: lanes must be a power of two from 2, got 6

// The V cache's append: [T, kv_heads, head_dim] -> a window of the
// [kv_heads, head_dim, positions] cache. Tiles of 4 x 4 over head_dim and
// T (T's whole tiles known at run time, so the loop sits in an scf.if);
// four row loads at T + 0..3, two rounds of interleaves, four stores at
// head_dim + 0..3; T's last partial tile stays a transpose. head_dim (16)
// has no partial tile: no second edge.
// CHECK-LABEL: func.func @append
// CHECK-SAME: (%[[V:.*]]: memref<?x2x16xf32>, %[[CACHE:.*]]: memref<2x16x?xf32, strided<[4096, 256, 1], offset: ?>>)
// CHECK: %[[T:.*]] = memref.dim %[[V]], %c0
// CHECK: %[[REM:.*]] = arith.remui %[[T]], %c4
// CHECK: %[[WHOLE:.*]] = arith.subi %[[T]], %[[REM]]
// CHECK: %[[ANY:.*]] = arith.cmpi sgt, %[[WHOLE]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK: scf.parallel (%[[KH:.*]], %[[D:.*]], %[[T0:.*]]) = (%c0, %c0, %c0) to (%c2, %c16, %[[WHOLE]]) step (%c1, %c4, %c4)
// CHECK: %[[R0:.*]] = vector.load %[[V]][%[[T0]], %[[KH]], %[[D]]] : memref<?x2x16xf32>, vector<4xf32>
// CHECK: %[[T1:.*]] = arith.addi %[[T0]], %c1
// CHECK: %[[R1:.*]] = vector.load %[[V]][%[[T1]], %[[KH]], %[[D]]]
// CHECK: %[[T2:.*]] = arith.addi %[[T0]], %c2
// CHECK: %[[R2:.*]] = vector.load %[[V]][%[[T2]], %[[KH]], %[[D]]]
// CHECK: %[[T3:.*]] = arith.addi %[[T0]], %c3
// CHECK: %[[R3:.*]] = vector.load %[[V]][%[[T3]], %[[KH]], %[[D]]]
// CHECK: %[[A0:.*]] = vector.shuffle %[[R0]], %[[R2]] [0, 4, 1, 5]
// CHECK: %[[A1:.*]] = vector.shuffle %[[R0]], %[[R2]] [2, 6, 3, 7]
// CHECK: %[[A2:.*]] = vector.shuffle %[[R1]], %[[R3]] [0, 4, 1, 5]
// CHECK: %[[A3:.*]] = vector.shuffle %[[R1]], %[[R3]] [2, 6, 3, 7]
// CHECK: %[[C0:.*]] = vector.shuffle %[[A0]], %[[A2]] [0, 4, 1, 5]
// CHECK: %[[C1:.*]] = vector.shuffle %[[A0]], %[[A2]] [2, 6, 3, 7]
// CHECK: %[[C2:.*]] = vector.shuffle %[[A1]], %[[A3]] [0, 4, 1, 5]
// CHECK: %[[C3:.*]] = vector.shuffle %[[A1]], %[[A3]] [2, 6, 3, 7]
// CHECK: vector.store %[[C0]], %[[CACHE]][%[[KH]], %[[D]], %[[T0]]]
// CHECK: %[[D1:.*]] = arith.addi %[[D]], %c1
// CHECK: vector.store %[[C1]], %[[CACHE]][%[[KH]], %[[D1]], %[[T0]]]
// CHECK: %[[D2:.*]] = arith.addi %[[D]], %c2
// CHECK: vector.store %[[C2]], %[[CACHE]][%[[KH]], %[[D2]], %[[T0]]]
// CHECK: %[[D3:.*]] = arith.addi %[[D]], %c3
// CHECK: vector.store %[[C3]], %[[CACHE]][%[[KH]], %[[D3]], %[[T0]]]
// CHECK: %[[LEFT:.*]] = arith.subi %[[T]], %[[WHOLE]]
// CHECK: %[[IN:.*]] = memref.subview %[[V]][%[[WHOLE]], 0, 0] [%[[LEFT]], 2, 16]
// CHECK: %[[OUT:.*]] = memref.subview %[[CACHE]][0, 0, %[[WHOLE]]] [2, 16, %[[LEFT]]]
// CHECK: linalg.transpose ins(%[[IN]] : {{.*}}) outs(%[[OUT]] : {{.*}}) permutation = [1, 2, 0]
// CHECK-NOT: linalg.transpose
// CHECK: return
// ROUND-LABEL: func.func @append
// ROUND: scf.parallel
// ROUND: vector.shuffle
func.func @append(%v: memref<?x2x16xf32>, %cache: memref<2x16x?xf32, strided<[4096, 256, 1], offset: ?>>) {
  linalg.transpose ins(%v : memref<?x2x16xf32>) outs(%cache : memref<2x16x?xf32, strided<[4096, 256, 1], offset: ?>>) permutation = [1, 2, 0]
  return
}

// -----

// Static sizes: no scf.if; 10 = two whole tiles and an edge of 2 in both
// tiled dimensions, so two edge transposes: [8, 10) of the inner
// dimension over every row, and [8, 10) of the other over the inner's
// whole tiles.
// CHECK-LABEL: func.func @static_edges
// CHECK-NOT: scf.if
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c8, %c8) step (%c4, %c4)
// CHECK-COUNT-4: vector.load
// CHECK-COUNT-4: vector.store
// CHECK: linalg.transpose ins(%{{.*}} : memref<2x10xf32, strided<[10, 1], offset: 80>>) outs(%{{.*}} : memref<10x2xf32, strided<[10, 1], offset: 8>>) permutation = [1, 0]
// CHECK: linalg.transpose ins(%{{.*}} : memref<8x2xf32, strided<[10, 1], offset: 8>>) outs(%{{.*}} : memref<2x8xf32, strided<[10, 1], offset: 80>>) permutation = [1, 0]
func.func @static_edges(%a: memref<10x10xf32>, %b: memref<10x10xf32>) {
  linalg.transpose ins(%a : memref<10x10xf32>) outs(%b : memref<10x10xf32>) permutation = [1, 0]
  return
}

// -----

// Left alone: a permutation that keeps the innermost dimension (rows
// move whole), a transpose on tensors, a non-f32 one, and one whose
// output's innermost dimension is strided.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: vector.load
// CHECK-COUNT-4: linalg.transpose
// CHECK-NOT: vector.load
func.func @left_alone(%a: memref<4x8x16xf32>, %b: memref<8x4x16xf32>,
                      %t: tensor<8x8xf32>, %i: memref<8x8xi32>, %j: memref<8x8xi32>,
                      %s: memref<8x8xf32, strided<[1, 8]>>) -> tensor<8x8xf32> {
  linalg.transpose ins(%a : memref<4x8x16xf32>) outs(%b : memref<8x4x16xf32>) permutation = [1, 0, 2]
  %e = tensor.empty() : tensor<8x8xf32>
  %r = linalg.transpose ins(%t : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) permutation = [1, 0]
  linalg.transpose ins(%i : memref<8x8xi32>) outs(%j : memref<8x8xi32>) permutation = [1, 0]
  %c = memref.alloc() : memref<8x8xf32>
  linalg.transpose ins(%c : memref<8x8xf32>) outs(%s : memref<8x8xf32, strided<[1, 8]>>) permutation = [1, 0]
  return %r : tensor<8x8xf32>
}
// -----

// A transposing elementwise op: the queries' scale on the way to [kv_head,
// head_dim, rows]. The body runs on each loaded row (the scale broadcast),
// before the transpose.
// CHECK-LABEL: func.func @scaled
// CHECK-SAME: (%[[IN:.*]]: memref<?x2x16xf32>, %[[OUT:.*]]: memref<2x16x?xf32>)
// CHECK-DAG: %[[SCALE:.*]] = arith.constant dense<2.500000e-01> : vector<4xf32>
// CHECK: scf.parallel (%[[KH:.*]], %[[D:.*]], %[[T0:.*]]) =
// CHECK: %[[R0:.*]] = vector.load %[[IN]][%[[T0]], %[[KH]], %[[D]]] : memref<?x2x16xf32>, vector<4xf32>
// CHECK: %[[S0:.*]] = arith.mulf %[[R0]], %[[SCALE]] : vector<4xf32>
// CHECK-COUNT-3: arith.mulf %{{.*}}, %[[SCALE]] : vector<4xf32>
// CHECK: vector.shuffle %[[S0]]
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[KH]], %[[D]], %[[T0]]]
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : memref<?x2x16xf32, strided<[32, 16, 1], offset: ?>>) outs(%{{.*}} : memref<2x16x?xf32, strided<[?, ?, 1], offset: ?>>)
// CHECK: arith.mulf
func.func @scaled(%in: memref<?x2x16xf32>, %out: memref<2x16x?xf32>) {
  %scale = arith.constant 0.25 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%in : memref<?x2x16xf32>) outs(%out : memref<2x16x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.mulf %x, %scale : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// Two inputs: the weighted sums [head_dim, rows] divided by the row sums
// [rows] into [rows, head_dim]. The row sums do not move with the output's
// innermost dimension: one load per tile, shared by its rows.
// CHECK-LABEL: func.func @normalized
// CHECK-SAME: (%[[ACC:.*]]: memref<8x?xf32>, %[[SUM:.*]]: memref<?xf32>, %[[OUT:.*]]: memref<?x8xf32>)
// CHECK: scf.parallel (%[[T0:.*]], %[[D:.*]]) =
// CHECK: %[[L:.*]] = vector.load %[[SUM]][%[[T0]]] : memref<?xf32>, vector<4xf32>
// CHECK: %[[A0:.*]] = vector.load %[[ACC]][%[[D]], %[[T0]]] : memref<8x?xf32>, vector<4xf32>
// CHECK: arith.divf %[[A0]], %[[L]] : vector<4xf32>
// CHECK-COUNT-3: arith.divf %{{.*}}, %[[L]] : vector<4xf32>
// CHECK-NOT: vector.load %[[SUM]]
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[T0]], %[[D]]]
func.func @normalized(%acc: memref<8x?xf32>, %sum: memref<?xf32>, %out: memref<?x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%acc, %sum : memref<8x?xf32>, memref<?xf32>) outs(%out : memref<?x8xf32>) {
  ^bb0(%a: f32, %l: f32, %o: f32):
    %y = arith.divf %a, %l : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// Left alone: a body that reads the output, one that uses an index, inputs
// contiguous along different dimensions, and a reduction.
// CHECK-LABEL: func.func @generics_left_alone
// CHECK-NOT: vector.load
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT: vector.load
func.func @generics_left_alone(%a: memref<8x8xf32>, %b: memref<8x8xf32>, %c: memref<8x8xf32>, %r: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8x8xf32>) outs(%b : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %o : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8x8xf32>) outs(%b : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %i = linalg.index 0 : index
    %f = arith.index_cast %i : index to i32
    %g = arith.sitofp %f : i32 to f32
    %y = arith.addf %x, %g : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a, %c : memref<8x8xf32>, memref<8x8xf32>) outs(%b : memref<8x8xf32>) {
  ^bb0(%x: f32, %z: f32, %o: f32):
    %y = arith.addf %x, %z : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<8x8xf32>) outs(%r : memref<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %o : f32
    linalg.yield %y : f32
  }
  return
}
