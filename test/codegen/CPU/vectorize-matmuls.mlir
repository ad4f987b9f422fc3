// RUN: matc-opt %s -split-input-file --matc-vectorize-matmuls | FileCheck %s
// RUN: not matc-opt %s -split-input-file --matc-vectorize-matmuls=lanes=0 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: matc-opt %s -split-input-file --matc-vectorize-matmuls="lanes=8 rows=3 columns=3 packed-rows=6 packed-vectors=2 packed-depth=256" | FileCheck %s --check-prefix=PACKED
// RUN: not matc-opt %s -split-input-file --matc-vectorize-matmuls="packed-rows=6 packed-depth=0" 2>&1 | FileCheck %s --check-prefix=BADPACK

// BAD: matc-vectorize-matmuls: lanes, rows and columns must be positive, got 0, 4, 4
// BADPACK: matc-vectorize-matmuls: packed-rows must be 0 or more, and with packed rows packed-vectors and packed-depth positive, got 6, 2, 0

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// Blocks of 4 columns run in parallel; 4 x 4 register blocks keep 16 vector
// accumulators along k, then leftover rows (1 x 4) and columns (1 x 1), and
// a scalar loop for the last k mod 16 products.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: linalg.generic
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} step %c4
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-4: vector.load %{{.*}} : memref<?x64xf32>, vector<16xf32>
// CHECK: vector.load %{{.*}} : memref<48x64xbf16>, vector<16xbf16>
// CHECK: arith.extf {{.*}} : vector<16xbf16> to vector<16xf32>
// CHECK-COUNT-16: vector.fma
// CHECK: vector.reduction <add>, {{.*}} fastmath<reassoc,contract>
// CHECK: memref.store
// CHECK: scf.reduce
func.func @matmul(%a: memref<?x64xf32>, %w: memref<48x64xbf16>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xbf16>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %e = arith.extf %y : bf16 to f32
    %p = arith.mulf %x, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// Rows read with a stride along k (not a [out, in] weight view) keep the
// generic: the kernel needs contiguous rows.
// CHECK-LABEL: func.func @strided_rows
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @strided_rows(%a: memref<?x64xf32>, %w: memref<48x64xf32, strided<[1, 48]>>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32, strided<[1, 48]>>) outs(%c : memref<?x48xf32>) {
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
#c = affine_map<(m, n, k) -> (m, n)>

// A body that is not a multiply-accumulate keeps the generic.
// CHECK-LABEL: func.func @not_a_matmul
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func @not_a_matmul(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// The multiply-accumulate in the other operand orders, `p + acc` with
// `y * x`, is the same matmul.
// CHECK-LABEL: func.func @matmul_commuted
// CHECK-NOT: linalg.generic
// CHECK: scf.parallel
// CHECK: vector.fma
func.func @matmul_commuted(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %y, %x fastmath<reassoc,contract> : f32
    %s = arith.addf %p, %acc fastmath<reassoc,contract> : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A named linalg.matmul with transposed-B indexing maps is recognized too.
// With a packed kernel: at least 6 rows take panels of 16 columns (48 = 3
// panels, none left for the dot kernel); per panel and per 256 values of k
// the weight block is copied, widened, into a [256, 16] buffer (weight row
// by weight row, reading along k), then 6 x 2
// accumulators of C take outer products of broadcast activations with the
// buffer's rows; leftover rows one at a time. Fewer rows: the dot kernel.
// PACKED-LABEL: func.func @named_matmul_transposed_b
// PACKED: %[[ENOUGH:.*]] = arith.cmpi uge, %{{.*}}, %c6
// PACKED: scf.if %[[ENOUGH]] {
// PACKED: scf.parallel
// PACKED: %[[BUF:.*]] = memref.alloca() {matc.packed_panel} : memref<256x16xf32>
// PACKED: scf.for %[[K0:.*]] = %{{.*}} to %c64 step %c256
// PACKED: %[[DEPTH:.*]] = arith.minui
// PACKED: scf.for %[[J:.*]] = %{{.*}} to %c16{{(_[0-9]+)?}} step
// PACKED: scf.for %[[KK:.*]] = %{{.*}} to %[[DEPTH]] step
// PACKED: %[[W:.*]] = memref.load %arg1[%{{.*}}, %{{.*}}] : memref<48x64xbf16>
// PACKED: %[[WIDE:.*]] = arith.extf %[[W]] : bf16 to f32
// PACKED: memref.store %[[WIDE]], %[[BUF]][%[[KK]], %[[J]]]
// PACKED: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c6
// PACKED-COUNT-12: vector.load %arg2
// PACKED: scf.for {{.*}} iter_args
// PACKED-COUNT-2: vector.load %[[BUF]]
// PACKED: vector.broadcast
// PACKED-COUNT-2: vector.fma
// PACKED: vector.broadcast
// PACKED-COUNT-2: vector.fma
// PACKED-COUNT-12: vector.store
// PACKED: scf.for
// PACKED: vector.fma
// PACKED: } else {
// PACKED: scf.parallel
// PACKED: vector.reduction
// PACKED-NOT: memref.alloca
// CHECK-LABEL: func.func @named_matmul_transposed_b
// CHECK-NOT: linalg.matmul
// CHECK: scf.parallel
// CHECK: vector.load %{{.*}} : memref<48x64xbf16>, vector<16xbf16>
// CHECK: vector.fma
func.func @named_matmul_transposed_b(%a: memref<?x64xf32>, %w: memref<48x64xbf16>, %c: memref<?x48xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %w : memref<?x64xf32>, memref<48x64xbf16>) outs(%c : memref<?x48xf32>)
  return
}

// -----

// A plain linalg.matmul (B stored [K, N]) is not the dot kernel's layout.
// With the packed kernel it is a column contraction (dX = dY x W): per
// panel and per 256 values of k, B's rows (contiguous along n) are copied
// as whole vectors into the stack buffer; A already holds k innermost, so
// it is read in place.
// CHECK-LABEL: func.func @named_matmul
// CHECK: linalg.matmul
// CHECK-NOT: vector.
// PACKED-LABEL: func.func @named_matmul
// PACKED-NOT: memref.alloc(
// PACKED: scf.parallel
// PACKED: %[[BUF:.*]] = memref.alloca() {matc.packed_panel} : memref<256x16xf32>
// PACKED: scf.for
// PACKED: %[[ROW:.*]] = vector.load %arg1[%{{.*}}, %{{.*}}] : memref<64x48xf32>, vector<8xf32>
// PACKED: vector.store %[[ROW]], %[[BUF]]
// PACKED: vector.load %arg1
// PACKED: vector.store
// PACKED: memref.load %arg0
// PACKED: vector.fma
// PACKED-NOT: memref.dealloc
func.func @named_matmul(%a: memref<?x64xf32>, %w: memref<64x48xf32>, %c: memref<?x48xf32>) {
  linalg.matmul ins(%a, %w : memref<?x64xf32>, memref<64x48xf32>) outs(%c : memref<?x48xf32>)
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// Look-alikes with one mulf and one addf that are not a multiply-accumulate
// keep their generic: (a + c) * b ...
// CHECK-LABEL: func.func @add_then_multiply
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @add_then_multiply(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    %p = arith.mulf %s, %y : f32
    linalg.yield %p : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// ... a * b + a (the accumulator is dropped) ...
// CHECK-LABEL: func.func @multiply_add_input
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @multiply_add_input(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %x : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// ... a * b - c ...
// CHECK-LABEL: func.func @multiply_subtract
// CHECK: linalg.generic
// CHECK: arith.subf
// CHECK-NOT: vector.
func.func @multiply_subtract(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.subf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// ... a * a + c (the weight is never read) ...
// CHECK-LABEL: func.func @square_accumulate
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @square_accumulate(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %x : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// ... a * ext(a) + c, the widening applied to the wrong operand ...
// CHECK-LABEL: func.func @extension_of_other_operand
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @extension_of_other_operand(%a: memref<?x64xf32>, %w: memref<48x64xbf16>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xbf16>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %t = arith.truncf %x : f32 to bf16
    %e = arith.extf %t : bf16 to f32
    %p = arith.mulf %x, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// ... and a max-reduction of products.
// CHECK-LABEL: func.func @max_reduction
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK-NOT: vector.
func.func @max_reduction(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.maximumf %x, %y : f32
    %s = arith.maximumf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Attention's scores, a batched row contraction: kv head kh is a batch
// dimension (in both inputs), the group g and the query row t are rows of
// q, the key position s is a column, head_dim d the shared innermost
// reduction. The parallel loop covers kh and blocks of s (the dynamic
// column dimension); g is a loop and t (dynamic) the register-blocked row.
// CHECK-LABEL: func.func @attention_scores
// CHECK-NOT: linalg.generic
// CHECK: %[[BLOCKS:.*]] = arith.ceildivui %{{.*}}, %c4
// CHECK: scf.parallel (%[[KH:.*]], %[[NB:.*]]) = ({{.*}}) to (%c2{{(_[0-9]+)?}}, %[[BLOCKS]])
// CHECK: scf.if
// CHECK: scf.for %[[G:[a-z0-9_]*]] = %{{.*}} to %c3{{(_[0-9]+)?}} 
// CHECK: scf.for %[[T:[a-z0-9_]*]] = %{{.*}} to %{{.*}} step %{{.*}}
// CHECK: vector.load %arg0[%[[T]], %[[KH]], %[[G]], %{{.*}}] : memref<?x2x3x32xf32>, vector<16xf32>
// CHECK: vector.load %arg1[%{{.*}}, %[[KH]], %{{.*}}] : memref<?x2x32xf32>, vector<16xf32>
// CHECK-COUNT-16: vector.fma
// CHECK: memref.store %{{.*}}, %arg2[%[[KH]], %[[G]], %[[T]], %{{.*}}] : memref<2x3x?x?xf32>
// CHECK: } else {
// CHECK: scf.for
#q = affine_map<(kh, g, t, s, d) -> (t, kh, g, d)>
#k = affine_map<(kh, g, t, s, d) -> (s, kh, d)>
#scores = affine_map<(kh, g, t, s, d) -> (kh, g, t, s)>
func.func @attention_scores(%q: memref<?x2x3x32xf32>, %keys: memref<?x2x32xf32>, %out: memref<2x3x?x?xf32>) {
  linalg.generic {indexing_maps = [#q, #k, #scores], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %keys : memref<?x2x3x32xf32>, memref<?x2x32xf32>) outs(%out : memref<2x3x?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The reduction must be the innermost dimension of both inputs: here it is
// the outer dimension of the keys, so the generic stays.
// CHECK-LABEL: func.func @reduction_not_innermost
// CHECK: linalg.generic
// CHECK-NOT: vector.
#q2 = affine_map<(t, s, d) -> (t, d)>
#k2 = affine_map<(t, s, d) -> (d, s)>
#o2 = affine_map<(t, s, d) -> (t, s)>
func.func @reduction_not_innermost(%q: memref<?x32xf32>, %keys: memref<32x?xf32>, %out: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#q2, #k2, #o2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %keys : memref<?x32xf32>, memref<32x?xf32>) outs(%out : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Attention's key gradient dK[s, kh, d] = sum over g, t of dS[kh, g, t, s] *
// Q[t, kh, g, d]: Q and dK are contiguous along d, so with the packed
// kernel it is a column contraction: kh (in every operand) is a batch
// dimension, run in parallel with the panels of d; the dynamic reduction t
// is the kernel's k; the other reduction g is a loop around it; s, the
// dynamic row dimension, is register-blocked. dS holds s, not t, innermost,
// so it is first copied to a buffer [kh, g, s, t] by a linalg.transpose
// (which matc-cpu-vectorize-transposes runs in register tiles), which the
// kernel reads and which is freed after. Without the packed kernel the
// generic stays.
// CHECK-LABEL: func.func @attention_key_gradient
// CHECK: linalg.generic
// PACKED-LABEL: func.func @attention_key_gradient
// PACKED-NOT: linalg.generic
// PACKED: %[[DST:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<2x3x?x?xf32>
// PACKED-NEXT: linalg.transpose ins(%arg0 : memref<2x3x?x?xf32>) outs(%[[DST]] : memref<2x3x?x?xf32>) permutation = [0, 1, 3, 2]
// PACKED: scf.parallel (%[[KH:.*]], %[[P:.*]]) = ({{.*}}) to (%c2{{(_[0-9]+)?}}, %{{.*}})
// PACKED: %[[N0:.*]] = arith.muli %[[P]], %c16
// PACKED: %[[BUF:.*]] = memref.alloca() {matc.packed_panel} : memref<256x16xf32>
// PACKED: scf.for %[[G:[a-z0-9_]*]] = %{{.*}} to %c3
// PACKED: scf.for %[[K0:[a-z0-9_]*]] = %{{.*}} to %[[T:.*]] step %c256
// PACKED: vector.load %arg1[%{{.*}}, %[[KH]], %[[G]], %[[N0]]] : memref<?x2x3x32xf32>, vector<8xf32>
// PACKED: scf.for %[[S:[a-z0-9_]*]] = %{{.*}} to %{{.*}} step %c6
// PACKED: vector.load %arg2[%[[S]], %[[KH]], %[[N0]]] : memref<?x2x32xf32>, vector<8xf32>
// PACKED: scf.for %[[KK:[a-z0-9_]*]] = {{.*}} iter_args
// PACKED: %[[K:.*]] = arith.addi %[[K0]], %[[KK]]
// PACKED: vector.load %[[BUF]][%[[KK]], %{{.*}}] : memref<256x16xf32>, vector<8xf32>
// PACKED: memref.load %[[DST]][%[[KH]], %[[G]], %[[S]], %[[K]]] : memref<2x3x?x?xf32>
// PACKED: vector.broadcast
// PACKED-COUNT-2: vector.fma
// PACKED: memref.dealloc %[[DST]]
// PACKED: return
#ds = affine_map<(s, kh, d, g, t) -> (kh, g, t, s)>
#q3 = affine_map<(s, kh, d, g, t) -> (t, kh, g, d)>
#dk = affine_map<(s, kh, d, g, t) -> (s, kh, d)>
func.func @attention_key_gradient(%ds: memref<2x3x?x?xf32>, %q: memref<?x2x3x32xf32>, %dk: memref<?x2x32xf32>) {
  linalg.generic {indexing_maps = [#ds, #q3, #dk], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%ds, %q : memref<2x3x?x?xf32>, memref<?x2x3x32xf32>) outs(%dk : memref<?x2x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Attention's value gradient in the V cache's layout, dV[kh, d, s] = sum
// over g, t of P[kh, g, t, s] * dO[t, kh, g, d]: the first input, not the
// second, is the one contiguous along the output's innermost s, so the
// roles swap: P's rows are copied to the panel buffer, dO (first copied
// to [kh, g, d, t]: t innermost) is broadcast.
// PACKED-LABEL: func.func @attention_value_gradient
// PACKED-NOT: linalg.generic
// PACKED: %[[DST:.*]] = memref.alloc(%{{.*}}) : memref<2x3x32x?xf32>
// PACKED-NEXT: linalg.transpose ins(%arg1 : memref<?x2x3x32xf32>) outs(%[[DST]] : memref<2x3x32x?xf32>) permutation = [1, 2, 3, 0]
// PACKED: scf.parallel
// PACKED: vector.load %arg0[%[[KH:.*]], %[[G:.*]], %[[K:.*]], %[[N0:.*]]] : memref<2x3x?x?xf32>, vector<8xf32>
// PACKED: memref.load %[[DST]]
// PACKED: vector.fma
// PACKED: memref.dealloc %[[DST]]
#p4 = affine_map<(kh, d, s, g, t) -> (kh, g, t, s)>
#do4 = affine_map<(kh, d, s, g, t) -> (t, kh, g, d)>
#dv4 = affine_map<(kh, d, s, g, t) -> (kh, d, s)>
func.func @attention_value_gradient(%p: memref<2x3x?x?xf32>, %do: memref<?x2x3x32xf32>, %dv: memref<2x32x?xf32>) {
  linalg.generic {indexing_maps = [#p4, #do4, #dv4], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%p, %do : memref<2x3x?x?xf32>, memref<?x2x3x32xf32>) outs(%dv : memref<2x32x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Neither a column contraction (the output's innermost dimension d is not
// the innermost of either input) nor a row one (the reduction s is not
// innermost in x).
// PACKED-LABEL: func.func @output_not_contiguous_in_inputs
// PACKED: linalg.generic
// PACKED-NOT: vector.
#x5 = affine_map<(t, d, s) -> (s, t)>
#y5 = affine_map<(t, d, s) -> (d, s)>
#z5 = affine_map<(t, d, s) -> (t, d)>
func.func @output_not_contiguous_in_inputs(%x: memref<?x?xf32>, %y: memref<32x?xf32>, %z: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [#x5, #y5, #z5], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %y : memref<?x?xf32>, memref<32x?xf32>) outs(%z : memref<?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// C zero-filled just before the contraction (pure ops in between do not
// count): the fill is erased and the kernels start from zero instead of
// loading C. The dot kernel stores its sums without reading C; the packed
// kernel's accumulators are zeros in the first block of k (k0 = 0) and C's
// values in later ones, one branch for the block's 12 vectors.
// CHECK-LABEL: func.func @zero_filled
// CHECK-NOT: linalg.fill
// CHECK-NOT: memref.load %arg2
// CHECK: memref.store %{{.*}}, %arg2
// PACKED-LABEL: func.func @zero_filled
// PACKED-NOT: linalg.fill
// PACKED: scf.for %[[K0:.*]] = %{{.*}} to %c64 step %c256
// PACKED: %[[FIRST:.*]] = arith.cmpi eq, %[[K0]], %c0
// PACKED: %[[INIT:.*]]:12 = scf.if %[[FIRST]] -> (vector<8xf32>, vector<8xf32>
// PACKED-NEXT: scf.yield %[[ZERO:[a-z0-9_]+]], %[[ZERO]],
// PACKED-NEXT: } else {
// PACKED-NEXT: %[[OLD:.*]] = vector.load %arg2
// PACKED: scf.yield %[[OLD]],
// PACKED: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]#0,
// PACKED: vector.fma
// PACKED: vector.store %{{.*}}, %arg2
func.func @zero_filled(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x48xf32>)
  %unused = arith.constant 1 : index
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
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
#c = affine_map<(m, n, k) -> (m, n)>

// Fills the kernels cannot start from stay, and C is loaded: a value other
// than zero, another buffer, and a zero fill with a write to C after it.
// CHECK-LABEL: func.func @fills_kept
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK: memref.load %arg2
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg3
// CHECK: memref.load %arg2
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK: memref.store %{{.*}}, %arg2[%c0, %c0]
// CHECK: memref.load %arg2
func.func @fills_kept(%a: memref<?x64xf32>, %w: memref<48x64xf32>, %c: memref<?x48xf32>, %d: memref<?x48xf32>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  linalg.fill ins(%one : f32) outs(%c : memref<?x48xf32>)
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.fill ins(%zero : f32) outs(%d : memref<?x48xf32>)
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.fill ins(%zero : f32) outs(%c : memref<?x48xf32>)
  memref.store %one, %c[%c0, %c0] : memref<?x48xf32>
  linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<?x64xf32>, memref<48x64xf32>) outs(%c : memref<?x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A zero-filled column contraction with a reduction outside the kernel's k
// (g): the accumulators start at zero only in the first block of k of the
// first g.
// PACKED-LABEL: func.func @zero_filled_key_gradient
// PACKED-NOT: linalg.fill
// PACKED: scf.for %[[G:[a-z0-9_]*]] = %{{.*}} to %c3{{(_[0-9]+)?}} step
// PACKED: scf.for %[[K0:[a-z0-9_]*]] = %{{.*}} to %{{.*}} step %c256
// PACKED: %[[K0_FIRST:.*]] = arith.cmpi eq, %[[K0]], %[[C0:[a-z0-9_]+]]
// PACKED: %[[G_FIRST:.*]] = arith.cmpi eq, %[[G]], %[[C0]]
// PACKED: %[[FIRST:.*]] = arith.andi %[[K0_FIRST]], %[[G_FIRST]]
// PACKED: scf.if %[[FIRST]] -> (vector<8xf32>
// Its last columns (scalar dot products over all of k) start from zero in
// the first g.
// PACKED: scf.for %[[G2:[a-z0-9_]*]] = %{{.*}} to %c3{{(_[0-9]+)?}} step
// PACKED: %[[G2_FIRST:.*]] = arith.cmpi eq, %[[G2]], %{{.*}}
// PACKED: scf.if %[[G2_FIRST]] -> (f32)
#ds = affine_map<(s, kh, d, g, t) -> (kh, g, t, s)>
#q3 = affine_map<(s, kh, d, g, t) -> (t, kh, g, d)>
#dk = affine_map<(s, kh, d, g, t) -> (s, kh, d)>
func.func @zero_filled_key_gradient(%ds: memref<2x3x?x?xf32>, %q: memref<?x2x3x36xf32>, %dk: memref<?x2x36xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%dk : memref<?x2x36xf32>)
  linalg.generic {indexing_maps = [#ds, #q3, #dk], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%ds, %q : memref<2x3x?x?xf32>, memref<?x2x3x36xf32>) outs(%dk : memref<?x2x36xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
