;; WebAssembly SIMD inner loops of the WASM backend's kernels, loaded by simdModule.ts:
;;  - the fused batch norm (+ ReLU) kernels (batchnormKernels.ts): `stats`, `normalise`, `backwardSums` and
;;    `backwardDx`, 128-bit SIMD over channels: x is NHWC, seen as `rows` rows of `c` contiguous channels;
;;  - the channel-axis Concat and SplitV kernels (concat.ts): `copyRows`, at the end of the file.
;;
;; The module has no memory of its own: it imports tfjs-backend-wasm's Memory and reads and writes tensors
;; in place at their heap byte offsets. Per-channel arrays (f32 or f64, `c` values each) are heap buffers
;; too, prepared by the caller. esbuild.mjs compiles this file to dist/densenet-kernels.wasm (and, importing
;; a shared memory, dist/densenet-kernels-shared.wasm for the threaded tfjs build).
;;
;; Arithmetic of the batch-norm loops:
;;  - per-channel sums accumulate in f64 (f64x2), the terms promoted from f32 (forward: the shifted
;;    x - k in f64; backward: g and xhat = (x - m) * r in f32, promoted, the product and sums in f64);
;;  - elementwise values are f32: pre = (x - m) * a + b, y = max(pre, floor) (floor 0 with ReLU, -inf
;;    without), g = dy where pre > 0 (ReLU), dx = a * ((g - mb) - xhat * md).
;; The C % 4 tail channels of each row use the scalar f32/f64 instructions, which round exactly like the
;; vector lanes, and `pre` is the same expression in every function: the backward ReLU mask is exactly the
;; forward's, and a recomputation with the forward's statistics reproduces y bit for bit.
(module
  (import "env" "memory" (memory 1))

  ;; s1[j] += sum over rows of (x - k[j]); s2[j] += sum of (x - k[j])^2. k, s1, s2: f64[c].
  (func (export "stats")
    (param $x i32) (param $rows i32) (param $c i32) (param $k i32) (param $s1 i32) (param $s2 i32)
    (local $c4 i32) (local $j i32) (local $o i32) (local $p i32)
    (local $v v128) (local $lo v128) (local $hi v128) (local $d f64)
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.ge_u (local.get $j) (local.get $c4)))
            (local.set $v (v128.load align=4 (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $o (i32.shl (local.get $j) (i32.const 3)))
            (local.set $lo (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v))
                                      (v128.load align=8 (i32.add (local.get $k) (local.get $o)))))
            (local.set $hi (f64x2.sub (f64x2.promote_low_f32x4
                                        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
                                      (v128.load offset=16 align=8 (i32.add (local.get $k) (local.get $o)))))
            (local.set $p (i32.add (local.get $s1) (local.get $o)))
            (v128.store align=8 (local.get $p) (f64x2.add (v128.load align=8 (local.get $p)) (local.get $lo)))
            (v128.store offset=16 align=8 (local.get $p) (f64x2.add (v128.load offset=16 align=8 (local.get $p)) (local.get $hi)))
            (local.set $p (i32.add (local.get $s2) (local.get $o)))
            (v128.store align=8 (local.get $p)
              (f64x2.add (v128.load align=8 (local.get $p)) (f64x2.mul (local.get $lo) (local.get $lo))))
            (v128.store offset=16 align=8 (local.get $p)
              (f64x2.add (v128.load offset=16 align=8 (local.get $p)) (f64x2.mul (local.get $hi) (local.get $hi))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $j) (local.get $c)))
            (local.set $o (i32.shl (local.get $j) (i32.const 3)))
            (local.set $d (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2)))))
                                   (f64.load (i32.add (local.get $k) (local.get $o)))))
            (local.set $p (i32.add (local.get $s1) (local.get $o)))
            (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (local.get $d)))
            (local.set $p (i32.add (local.get $s2) (local.get $o)))
            (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (f64.mul (local.get $d) (local.get $d))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; y = max((x - m) * a + b, floor), floor = 0 with ReLU, -inf without. m, a, b: f32[c].
  (func (export "normalise")
    (param $x i32) (param $y i32) (param $rows i32) (param $c i32) (param $m i32) (param $a i32) (param $b i32) (param $relu i32)
    (local $c4 i32) (local $j i32) (local $o i32) (local $floor f32) (local $floor4 v128)
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (local.set $floor (select (f32.const 0) (f32.const -inf) (local.get $relu)))
    (local.set $floor4 (f32x4.splat (local.get $floor)))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.ge_u (local.get $j) (local.get $c4)))
            (local.set $o (i32.shl (local.get $j) (i32.const 2)))
            (v128.store align=4 (i32.add (local.get $y) (local.get $o))
              (f32x4.max
                (f32x4.add
                  (f32x4.mul
                    (f32x4.sub (v128.load align=4 (i32.add (local.get $x) (local.get $o)))
                               (v128.load align=4 (i32.add (local.get $m) (local.get $o))))
                    (v128.load align=4 (i32.add (local.get $a) (local.get $o))))
                  (v128.load align=4 (i32.add (local.get $b) (local.get $o))))
                (local.get $floor4)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $j) (local.get $c)))
            (local.set $o (i32.shl (local.get $j) (i32.const 2)))
            (f32.store (i32.add (local.get $y) (local.get $o))
              (f32.max
                (f32.add
                  (f32.mul
                    (f32.sub (f32.load (i32.add (local.get $x) (local.get $o)))
                             (f32.load (i32.add (local.get $m) (local.get $o))))
                    (f32.load (i32.add (local.get $a) (local.get $o))))
                  (f32.load (i32.add (local.get $b) (local.get $o))))
                (local.get $floor)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $x (i32.add (local.get $x) (local.get $o)))
        (local.set $y (i32.add (local.get $y) (local.get $o)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; sg[j] += sum of g, sgx[j] += sum of g * xhat; g = dy where (x - m) * a + b > 0 (ReLU; else dy),
  ;; xhat = (x - m) * r. m, a, b, r: f32[c]; sg, sgx: f64[c].
  (func (export "backwardSums")
    (param $x i32) (param $dy i32) (param $rows i32) (param $c i32) (param $m i32) (param $a i32) (param $b i32) (param $r i32)
    (param $sg i32) (param $sgx i32) (param $relu i32)
    (local $c4 i32) (local $j i32) (local $o i32) (local $o8 i32) (local $p i32) (local $all i32) (local $all4 v128)
    (local $xc v128) (local $g v128) (local $xh v128) (local $glo v128) (local $ghi v128)
    (local $sxc f32) (local $sgs f64) (local $sxh f64)
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    ;; Without ReLU every lane passes: the mask is or-ed with all ones.
    (local.set $all (i32.eqz (local.get $relu)))
    (local.set $all4 (i32x4.splat (i32.sub (i32.const 0) (local.get $all))))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.ge_u (local.get $j) (local.get $c4)))
            (local.set $o (i32.shl (local.get $j) (i32.const 2)))
            (local.set $xc (f32x4.sub (v128.load align=4 (i32.add (local.get $x) (local.get $o)))
                                      (v128.load align=4 (i32.add (local.get $m) (local.get $o)))))
            (local.set $g
              (v128.and (v128.load align=4 (i32.add (local.get $dy) (local.get $o)))
                (v128.or (local.get $all4)
                  (f32x4.gt
                    (f32x4.add (f32x4.mul (local.get $xc) (v128.load align=4 (i32.add (local.get $a) (local.get $o))))
                               (v128.load align=4 (i32.add (local.get $b) (local.get $o))))
                    (v128.const f32x4 0 0 0 0)))))
            (local.set $xh (f32x4.mul (local.get $xc) (v128.load align=4 (i32.add (local.get $r) (local.get $o)))))
            (local.set $glo (f64x2.promote_low_f32x4 (local.get $g)))
            (local.set $ghi (f64x2.promote_low_f32x4
                              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
            (local.set $o8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $p (i32.add (local.get $sg) (local.get $o8)))
            (v128.store align=8 (local.get $p) (f64x2.add (v128.load align=8 (local.get $p)) (local.get $glo)))
            (v128.store offset=16 align=8 (local.get $p) (f64x2.add (v128.load offset=16 align=8 (local.get $p)) (local.get $ghi)))
            (local.set $p (i32.add (local.get $sgx) (local.get $o8)))
            (v128.store align=8 (local.get $p)
              (f64x2.add (v128.load align=8 (local.get $p))
                         (f64x2.mul (local.get $glo) (f64x2.promote_low_f32x4 (local.get $xh)))))
            (v128.store offset=16 align=8 (local.get $p)
              (f64x2.add (v128.load offset=16 align=8 (local.get $p))
                         (f64x2.mul (local.get $ghi)
                                    (f64x2.promote_low_f32x4
                                      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xh) (local.get $xh))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $j) (local.get $c)))
            (local.set $o (i32.shl (local.get $j) (i32.const 2)))
            (local.set $sxc (f32.sub (f32.load (i32.add (local.get $x) (local.get $o)))
                                     (f32.load (i32.add (local.get $m) (local.get $o)))))
            (local.set $sgs
              (f64.promote_f32
                (select (f32.load (i32.add (local.get $dy) (local.get $o))) (f32.const 0)
                  (i32.or (local.get $all)
                    (f32.gt
                      (f32.add (f32.mul (local.get $sxc) (f32.load (i32.add (local.get $a) (local.get $o))))
                               (f32.load (i32.add (local.get $b) (local.get $o))))
                      (f32.const 0))))))
            (local.set $sxh (f64.promote_f32 (f32.mul (local.get $sxc) (f32.load (i32.add (local.get $r) (local.get $o))))))
            (local.set $o8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $p (i32.add (local.get $sg) (local.get $o8)))
            (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (local.get $sgs)))
            (local.set $p (i32.add (local.get $sgx) (local.get $o8)))
            (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (f64.mul (local.get $sgs) (local.get $sxh))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $x (i32.add (local.get $x) (local.get $o)))
        (local.set $dy (i32.add (local.get $dy) (local.get $o)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; dx = a * ((g - mb) - xhat * md), g and xhat as in backwardSums. m, a, b, r, mb, md: f32[c].
  (func (export "backwardDx")
    (param $x i32) (param $dy i32) (param $dx i32) (param $rows i32) (param $c i32) (param $m i32) (param $a i32) (param $b i32)
    (param $r i32) (param $mb i32) (param $md i32) (param $relu i32)
    (local $c4 i32) (local $j i32) (local $o i32) (local $all i32) (local $all4 v128)
    (local $xc v128) (local $av v128) (local $g v128) (local $sxc f32) (local $sa f32) (local $sg f32)
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (local.set $all (i32.eqz (local.get $relu)))
    (local.set $all4 (i32x4.splat (i32.sub (i32.const 0) (local.get $all))))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.ge_u (local.get $j) (local.get $c4)))
            (local.set $o (i32.shl (local.get $j) (i32.const 2)))
            (local.set $xc (f32x4.sub (v128.load align=4 (i32.add (local.get $x) (local.get $o)))
                                      (v128.load align=4 (i32.add (local.get $m) (local.get $o)))))
            (local.set $av (v128.load align=4 (i32.add (local.get $a) (local.get $o))))
            (local.set $g
              (v128.and (v128.load align=4 (i32.add (local.get $dy) (local.get $o)))
                (v128.or (local.get $all4)
                  (f32x4.gt
                    (f32x4.add (f32x4.mul (local.get $xc) (local.get $av))
                               (v128.load align=4 (i32.add (local.get $b) (local.get $o))))
                    (v128.const f32x4 0 0 0 0)))))
            (v128.store align=4 (i32.add (local.get $dx) (local.get $o))
              (f32x4.mul (local.get $av)
                (f32x4.sub
                  (f32x4.sub (local.get $g) (v128.load align=4 (i32.add (local.get $mb) (local.get $o))))
                  (f32x4.mul (f32x4.mul (local.get $xc) (v128.load align=4 (i32.add (local.get $r) (local.get $o))))
                             (v128.load align=4 (i32.add (local.get $md) (local.get $o)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $j) (local.get $c)))
            (local.set $o (i32.shl (local.get $j) (i32.const 2)))
            (local.set $sxc (f32.sub (f32.load (i32.add (local.get $x) (local.get $o)))
                                     (f32.load (i32.add (local.get $m) (local.get $o)))))
            (local.set $sa (f32.load (i32.add (local.get $a) (local.get $o))))
            (local.set $sg
              (select (f32.load (i32.add (local.get $dy) (local.get $o))) (f32.const 0)
                (i32.or (local.get $all)
                  (f32.gt
                    (f32.add (f32.mul (local.get $sxc) (local.get $sa))
                             (f32.load (i32.add (local.get $b) (local.get $o))))
                    (f32.const 0)))))
            (f32.store (i32.add (local.get $dx) (local.get $o))
              (f32.mul (local.get $sa)
                (f32.sub
                  (f32.sub (local.get $sg) (f32.load (i32.add (local.get $mb) (local.get $o))))
                  (f32.mul (f32.mul (local.get $sxc) (f32.load (i32.add (local.get $r) (local.get $o))))
                           (f32.load (i32.add (local.get $md) (local.get $o)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $x (i32.add (local.get $x) (local.get $o)))
        (local.set $dy (i32.add (local.get $dy) (local.get $o)))
        (local.set $dx (i32.add (local.get $dx) (local.get $o)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))
;; Copies `rows` rows of `width` f32 values from src (a row every `srcStride` values) to dst (a row every
;; `dstStride` values): the channel-axis Concat and SplitV of NHWC tensors (concat.ts). 16 bytes at a time,
;; the width % 4 tail one value at a time.
  (func (export "copyRows")
    (param $src i32) (param $dst i32) (param $rows i32) (param $width i32) (param $srcStride i32) (param $dstStride i32)
    (local $w4 i32) (local $o i32) (local $end i32) (local $sb i32) (local $db i32)
    (local.set $w4 (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $width) (i32.const 2)))
    (local.set $sb (i32.shl (local.get $srcStride) (i32.const 2)))
    (local.set $db (i32.shl (local.get $dstStride) (i32.const 2)))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $o (i32.const 0))
        (block $vend
          (loop $vec
            (br_if $vend (i32.ge_u (local.get $o) (local.get $w4)))
            (v128.store align=4 (i32.add (local.get $dst) (local.get $o))
              (v128.load align=4 (i32.add (local.get $src) (local.get $o))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $vec)))
        (block $tend
          (loop $tail
            (br_if $tend (i32.ge_u (local.get $o) (local.get $end)))
            (f32.store (i32.add (local.get $dst) (local.get $o))
              (f32.load (i32.add (local.get $src) (local.get $o))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $tail)))
        (local.set $src (i32.add (local.get $src) (local.get $sb)))
        (local.set $dst (i32.add (local.get $dst) (local.get $db)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))
)
