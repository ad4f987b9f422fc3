// RUN: matc-opt %s -split-input-file --matc-cpu-lower-attention --canonicalize | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cpu-lower-attention=position-tile=2 --canonicalize | FileCheck %s --check-prefix=TILE2
// RUN: matc-opt %s -split-input-file --matc-cpu-lower-attention=query-block=2 --canonicalize | FileCheck %s --check-prefix=QBLOCK2
// RUN: not matc-opt %s -split-input-file --matc-cpu-lower-attention=position-tile=0 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not matc-opt %s -split-input-file --matc-cpu-lower-attention=query-block=0 2>&1 | FileCheck %s --check-prefix=BADBLOCK
// RUN: matc-opt %s -split-input-file --matc-cpu-lower-attention=column-form=4 --canonicalize | FileCheck %s --check-prefix=COLUMNS
// RUN: matc-opt %s -split-input-file --matc-cpu-lower-attention=column-form=4 -mlir-print-op-generic | matc-opt -split-input-file | FileCheck %s --check-prefix=COLUMNS-ROUND
// RUN: not matc-opt %s -split-input-file --matc-cpu-lower-attention=column-form=-1 2>&1 | FileCheck %s --check-prefix=BADCOLUMNS

// BAD: matc-cpu-lower-attention: position-tile and query-block must be positive, got 0 and 64
// BADBLOCK: matc-cpu-lower-attention: position-tile and query-block must be positive, got 128 and 0

// Against the cache: query rows in blocks of 64, each an online softmax over
// tiles of 128 key positions up to its last row's position (start + t0 +
// rows; a prompt skips most of its masked scores). The running max, sum and
// weighted sum of V start at -inf, 0 and 0 and are carried by the tile loop;
// only a [kv_heads, group, rows, tile] block of scores exists at a time.
// CHECK-LABEL: func.func @cached(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<2x16x?xf32>, %[[START:[a-z0-9]+]]: index
// CHECK-NOT: matformer.
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[TILE:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 64 : index
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %c0
// CHECK: %[[POSITIONS:.*]] = tensor.dim %[[K]], %c0
// CHECK: %[[ALLQ:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2], [3]] {{.*}} into tensor<?x2x2x16xf32>
// CHECK: %[[BLOCKS:.*]] = scf.for %[[T0:.*]] = %c0 to %[[T]] step %[[BLOCK]] iter_args(%[[OUTS:.*]] = %{{.*}})
// CHECK: %[[REST:.*]] = arith.subi %[[T]], %[[T0]]
// CHECK: %[[ROWS:.*]] = arith.minsi %[[REST]], %[[BLOCK]]
// CHECK: %[[GROUPED:.*]] = tensor.extract_slice %[[ALLQ]][%[[T0]], 0, 0, 0] [%[[ROWS]], 2, 2, 16]
// CHECK: %[[BLOCKSTART:.*]] = arith.addi %[[START]], %[[T0]]
// CHECK: %[[END:.*]] = arith.addi %[[BLOCKSTART]], %[[ROWS]]
// CHECK: %[[VISIBLE:.*]] = arith.minsi %[[POSITIONS]], %[[END]]
// CHECK: %[[MAX0:.*]] = linalg.fill ins(%[[NEGINF]] : f32) {{.*}} -> tensor<2x2x?xf32>
// CHECK: %[[SUM0:.*]] = linalg.fill {{.*}} -> tensor<2x2x?xf32>
// CHECK: %[[ACC0:.*]] = linalg.fill {{.*}} -> tensor<?x2x2x16xf32>
// CHECK: %[[LOOP:.*]]:3 = scf.for %[[OFFSET:.*]] = %c0 to %[[VISIBLE]] step %[[TILE]] iter_args(%[[MAX:.*]] = %[[MAX0]], %[[SUM:.*]] = %[[SUM0]], %[[ACC:.*]] = %[[ACC0]])
// The tile: positions [offset, offset + min(128, visible - offset)).
// CHECK: %[[LEFT:.*]] = arith.subi %[[VISIBLE]], %[[OFFSET]]
// CHECK: %[[COUNT:.*]] = arith.minsi %[[LEFT]], %[[TILE]]
// CHECK: %[[KTILE:.*]] = tensor.extract_slice %[[K]][%[[OFFSET]], 0, 0] [%[[COUNT]], 2, 16]
// CHECK: %[[VTILE:.*]] = tensor.extract_slice %[[V]][0, 0, %[[OFFSET]]] [2, 16, %[[COUNT]]]
// Scores of the tile: a contraction over head_dim.
// CHECK: %[[SCORES:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[GROUPED]], %[[KTILE]] : tensor<?x2x2x16xf32>, tensor<?x2x16xf32>) outs(%{{.*}} : tensor<2x2x?x?xf32>)
// CHECK: arith.mulf {{.*}} fastmath<reassoc,contract>
// CHECK: arith.addf {{.*}} fastmath<reassoc,contract>
// The tile's max over visible positions (offset + s <= start + t), the
// others masked to -inf: an unconditional, branch-free max.
// CHECK: %[[TILEMAX:.*]] = linalg.generic {{.*}} ins(%[[SCORES]] :
// CHECK: %[[SCALED:.*]] = arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: %[[POS:.*]] = arith.addi %[[OFFSET]], %{{.*}}
// CHECK: %[[LAST:.*]] = arith.addi %[[BLOCKSTART]], %{{.*}}
// CHECK: %[[SEEN:.*]] = arith.cmpi ule, %[[POS]], %[[LAST]]
// CHECK: %[[MASKED:.*]] = arith.select %[[SEEN]], %[[SCALED]], %{{.*}}
// CHECK: arith.maxnumf %{{.*}}, %[[MASKED]] fastmath<nnan>
// New max, the rescaling factor exp(old - new) (1 if unchanged), the sum rescaled.
// CHECK: %[[UPDATE:.*]]:3 = linalg.generic {{.*}} ins(%[[MAX]], %[[TILEMAX]] : {{.*}}) outs(%[[MAX]], %{{.*}}, %[[SUM]] :
// CHECK: %[[NEW:.*]] = arith.maximumf
// CHECK: arith.cmpf oeq
// CHECK: math.exp
// CHECK: arith.select
// p = exp(scale * score - max) where visible, in place of the scores.
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[SCORES]], %[[UPDATE]]#0 : {{.*}}) outs(%[[SCORES]] :
// CHECK: math.exp
// CHECK: arith.cmpi ule
// CHECK: %[[NEWSUM:.*]] = linalg.generic {{.*}} ins(%[[P]] : {{.*}}) outs(%[[UPDATE]]#2 :
// CHECK: arith.addf {{.*}} fastmath<reassoc>
// CHECK: %[[RESCALED:.*]] = linalg.generic {{.*}} ins(%[[UPDATE]]#1 : {{.*}}) outs(%[[ACC]] :
// The tile's weighted sum of V reduces over its innermost positions.
// CHECK: %[[NEWACC:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[VTILE]] : tensor<2x2x?x?xf32>, tensor<2x16x?xf32>) outs(%[[RESCALED]] : tensor<?x2x2x16xf32>)
// CHECK: scf.yield %[[UPDATE]]#0, %[[NEWSUM]], %[[NEWACC]]
// Normalized once per block, at the end, into the block's rows.
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[LOOP]]#1 : {{.*}}) outs(%[[LOOP]]#2 :
// CHECK: arith.divf
// CHECK: %[[INSERTED:.*]] = tensor.insert_slice %[[OUT]] into %[[OUTS]][%[[T0]], 0, 0, 0] [%[[ROWS]], 2, 2, 16]
// CHECK: scf.yield %[[INSERTED]]
// CHECK: tensor.collapse_shape %[[BLOCKS]] {{\[}}[0], [1, 2], [3]] : tensor<?x2x2x16xf32> into tensor<?x4x16xf32>
// CHECK-NOT: matformer.
// TILE2-LABEL: func.func @cached
// TILE2: %[[TILE:.*]] = arith.constant 2 : index
// TILE2: scf.for {{.*}} step %[[TILE]]
// The column form, for blocks of at least 4 query rows x group (2 here);
// smaller blocks keep the row form. The block's queries are scaled and
// transposed to [kv_head, head_dim, group x rows]; scores are [kv_head,
// position, group x rows], a contraction over head_dim of the key tile as
// stored and the transposed queries; the max and the sum reduce over
// positions with the columns innermost; a column j is query row j mod rows;
// the weighted sum is [kv_head, head_dim, group x rows], a contraction over
// positions of the value tile as stored and the probabilities.
// COLUMNS-LABEL: func.func @cached(
// COLUMNS-SAME: %[[Q:[a-z0-9]+]]: tensor<?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<2x16x?xf32>, %[[START:[a-z0-9]+]]: index
// COLUMNS: scf.for %[[T0:.*]] = %c0 to %{{.*}} step %c64
// COLUMNS: %[[ROWS:.*]] = arith.minsi
// COLUMNS: %[[GROUPED:.*]] = tensor.extract_slice
// COLUMNS: %[[J:.*]] = arith.muli %[[ROWS]], %c2
// COLUMNS: %[[ENOUGH:.*]] = arith.cmpi sge, %[[J]], %c4
// COLUMNS: scf.if %[[ENOUGH]] -> (tensor<?x2x2x16xf32>)
// One KV head per iteration of an scf.forall, with its slices of q, K and V.
// COLUMNS: scf.forall (%[[KH:.*]]) in (2) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<?x2x2x16xf32>)
// COLUMNS-DAG: %[[KH_K:.*]] = tensor.extract_slice %[[K]][0, %[[KH]], 0] [%{{.*}}, 1, 16] [1, 1, 1] : tensor<?x2x16xf32> to tensor<?x1x16xf32>
// COLUMNS-DAG: %[[KH_V:.*]] = tensor.extract_slice %[[V]][%[[KH]], 0, 0] [1, 16, %{{.*}}] [1, 1, 1] : tensor<2x16x?xf32> to tensor<1x16x?xf32>
// COLUMNS-DAG: %[[KH_Q:.*]] = tensor.extract_slice %[[GROUPED]][0, %[[KH]], 0, 0] [%[[ROWS]], 1, 2, 16] [1, 1, 1, 1] : tensor<?x2x2x16xf32> to tensor<?x1x2x16xf32>
// COLUMNS: %[[QT4:.*]] = linalg.generic {{.*}} ins(%[[KH_Q]] : tensor<?x1x2x16xf32>) outs(%{{.*}} : tensor<1x16x2x?xf32>)
// COLUMNS: arith.mulf %{{.*}}, %cst
// COLUMNS: %[[QT:.*]] = tensor.collapse_shape %[[QT4]] {{\[}}[0], [1], [2, 3]] : tensor<1x16x2x?xf32> into tensor<1x16x?xf32>
// Column j's query row, j mod rows, once per block as i32: the masks read
// it instead of dividing per element.
// COLUMNS: %[[ROW_OF:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]} outs(%{{.*}} : tensor<?xi32>)
// COLUMNS-NEXT: ^bb0
// COLUMNS-NEXT: %[[J0:.*]] = linalg.index 0
// COLUMNS-NEXT: %[[R:.*]] = arith.remui %[[J0]], %[[ROWS]]
// COLUMNS-NEXT: arith.index_cast %[[R]] : index to i32
// Positions before the block's first row (start + t0): tiles without a mask.
// COLUMNS: %[[UNMASKED_END:.*]] = arith.minsi %[[BLOCK_START:.*]], %[[END:.*]] : index
// COLUMNS: %[[FIRST:.*]]:3 = scf.for %[[OFFSET0:.*]] = %c0 to %[[UNMASKED_END]] step %c128
// COLUMNS: %[[KTILE0:.*]] = tensor.extract_slice %[[KH_K]][%[[OFFSET0]], 0, 0]
// COLUMNS: %[[SCORES0:.*]] = linalg.generic {{.*}} ins(%[[KTILE0]], %[[QT]] : tensor<?x1x16xf32>, tensor<1x16x?xf32>) outs(%{{.*}} : tensor<1x?x?xf32>)
// COLUMNS: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[SCORES0]] : tensor<1x?x?xf32>)
// COLUMNS-NOT: linalg.index
// COLUMNS: arith.maxnumf {{.*}} fastmath<nnan>
// COLUMNS: %[[UPDATE0:.*]]:3 = linalg.generic
// COLUMNS: linalg.generic {{.*}} ins(%[[SCORES0]], %[[UPDATE0]]#0 : tensor<1x?x?xf32>, tensor<1x?xf32>) outs(%[[SCORES0]] : tensor<1x?x?xf32>)
// COLUMNS-NEXT: ^bb0
// COLUMNS-NEXT: arith.subf
// COLUMNS-NEXT: math.exp
// COLUMNS-NEXT: linalg.yield
// The rest, to the block's last row, with the mask.
// COLUMNS: scf.for %[[OFFSET:.*]] = %[[UNMASKED_END]] to %[[END]] step %c128 iter_args(%{{.*}} = %[[FIRST]]#0, %{{.*}} = %[[FIRST]]#1, %{{.*}} = %[[FIRST]]#2)
// COLUMNS: %[[KTILE:.*]] = tensor.extract_slice %[[KH_K]][%[[OFFSET]], 0, 0]
// COLUMNS: %[[VTILE:.*]] = tensor.extract_slice %[[KH_V]][0, 0, %[[OFFSET]]]
// COLUMNS: %[[SCORES:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[KTILE]], %[[QT]] : tensor<?x1x16xf32>, tensor<1x16x?xf32>) outs(%{{.*}} : tensor<1x?x?xf32>)
// COLUMNS: %[[TILEMAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[SCORES]], %[[ROW_OF]] : tensor<1x?x?xf32>, tensor<?xi32>) outs(%{{.*}} : tensor<1x?xf32>)
// COLUMNS-NEXT: ^bb0(%{{.*}}: f32, %[[ROW:.*]]: i32, %{{.*}}: f32)
// COLUMNS-NOT: arith.remui
// COLUMNS-DAG: %[[S:.*]] = linalg.index 1
// COLUMNS-DAG: %[[START32:.*]] = arith.index_cast %[[BLOCK_START]] : index to i32
// COLUMNS-DAG: %[[LAST32:.*]] = arith.addi %[[START32]], %[[ROW]] : i32
// COLUMNS-DAG: %[[POS:.*]] = arith.addi %[[OFFSET]], %[[S]]
// The mask compares i32 positions.
// COLUMNS-DAG: %[[POS32:.*]] = arith.index_cast %[[POS]] : index to i32
// COLUMNS: arith.cmpi sle, %[[POS32]], %[[LAST32]]
// COLUMNS: arith.maxnumf {{.*}} fastmath<nnan>
// COLUMNS: %[[UPDATE:.*]]:3 = linalg.generic
// COLUMNS: %[[P:.*]] = linalg.generic {{.*}} ins(%[[SCORES]], %[[UPDATE]]#0, %[[ROW_OF]] : tensor<1x?x?xf32>, tensor<1x?xf32>, tensor<?xi32>) outs(%[[SCORES]] : tensor<1x?x?xf32>)
// COLUMNS: math.exp
// COLUMNS-NOT: arith.remui
// COLUMNS: arith.cmpi sle
// COLUMNS: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[P]] : tensor<1x?x?xf32>)
// COLUMNS: arith.addf {{.*}} fastmath<reassoc>
// COLUMNS: %[[RESCALED:.*]] = linalg.generic {{.*}} ins(%[[UPDATE]]#1 : tensor<1x?xf32>) outs(%{{.*}} : tensor<1x16x?xf32>)
// COLUMNS: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[VTILE]], %[[P]] : tensor<1x16x?xf32>, tensor<1x?x?xf32>) outs(%[[RESCALED]] : tensor<1x16x?xf32>)
// COLUMNS: tensor.expand_shape {{.*}} into tensor<1x2x?xf32>
// COLUMNS: tensor.expand_shape {{.*}} into tensor<1x16x2x?xf32>
// COLUMNS: %[[HEAD_OUT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x1x2x16xf32>)
// COLUMNS: arith.divf
// COLUMNS: scf.forall.in_parallel
// COLUMNS-NEXT: tensor.parallel_insert_slice %[[HEAD_OUT]] into %[[OUT]][0, %[[KH]], 0, 0] [%[[ROWS]], 1, 2, 16]
// COLUMNS: } else {
// COLUMNS: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[GROUPED]], %{{.*}} : tensor<?x2x2x16xf32>, tensor<?x2x16xf32>)
// COLUMNS-ROUND-LABEL: func.func @cached
// COLUMNS-ROUND: scf.if
// BADCOLUMNS: matc-cpu-lower-attention: column-form must be 0 (never) or more, got -1
func.func @cached(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %start: index) -> tensor<?x4x16xf32> {
  %o = matformer.causal_attention %q, %k, %v at %start scale(0.25)
      : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
  return %o : tensor<?x4x16xf32>
}

// -----

// Without a start position, row t sees positions [0, t]; the scale is the
// op's. Three positions fit in one tile: the loop runs once and folds away.
// CHECK-LABEL: func.func @uncached
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK-NOT: scf.for
// CHECK: arith.maximumf
// CHECK: %[[T:.*]] = linalg.index 2
// CHECK: %[[S:.*]] = linalg.index 3
// CHECK: arith.cmpi ule, %[[S]], %[[T]]
// CHECK-NOT: matformer.
// With blocks of two query rows: rows [0, 2) see positions [0, 2), row 2
// sees [0, 3).
// QBLOCK2-LABEL: func.func @uncached
// QBLOCK2: scf.for %[[T0:.*]] = %c0 to %c3 step %c2
// QBLOCK2: %[[ROWS:.*]] = arith.minsi %{{.*}}, %c2
// QBLOCK2: %[[END:.*]] = arith.addi %[[T0]], %[[ROWS]]
// QBLOCK2: %[[VISIBLE:.*]] = arith.minsi %[[END]], %c3
// QBLOCK2: scf.for %{{.*}} = %c0 to %[[VISIBLE]] step
// With tiles of two positions, a second tile of one.
// TILE2-LABEL: func.func @uncached
// TILE2: scf.for %{{.*}} = %c0 to %c3 step %c2
// TILE2: arith.minsi
// TILE2: tensor.extract_slice {{.*}} : tensor<3x4x16xf32> to tensor<?x4x16xf32>
func.func @uncached(%q: tensor<3x4x16xf32>, %k: tensor<3x4x16xf32>, %v: tensor<4x16x3xf32>) -> tensor<3x4x16xf32> {
  %o = matformer.causal_attention %q, %k, %v scale(0.125)
      : tensor<3x4x16xf32>, tensor<3x4x16xf32>, tensor<4x16x3xf32>
  return %o : tensor<3x4x16xf32>
}
