// Bad MIX values: each a diagnostic naming the token and what was expected.
// RUN: not matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S,M" 2>&1 | FileCheck %s --check-prefix=LENGTH
// RUN: not matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S,XXL,M" 2>&1 | FileCheck %s --check-prefix=TOKEN
// RUN: not matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S,17,M" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=g4" 2>&1 | FileCheck %s --check-prefix=GK
// RUN: not matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=@%S/Inputs/does-not-exist.json" 2>&1 | FileCheck %s --check-prefix=FILE
// RUN: not matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S" --matformer-specialize-mix="mix=S" 2>&1 | FileCheck %s --check-prefix=TWICE

// LENGTH: error: {{.*}}expected 3 comma-separated tokens{{.*}}got 2
// TOKEN: error: {{.*}}mix token 1 ('XXL'): expected S, M, L, XL, gK (K = 0..3), a width 1..16, 0 or skip
// RANGE: error: {{.*}}'17'{{.*}}1..16
// GK: error: {{.*}}g4
// FILE: error: {{.*}}does-not-exist.json
// TWICE: error: module is already specialized for mix #matformer.mix<[2, 2, 2]>; specialize the universal model
