;; WebAssembly SIMD inner loops of the WASM backend's kernels, loaded by simdModule.ts:
;;  - the fused batch norm (+ ReLU) kernels (batchnormKernels.ts): `stats`, `normalise`, `backwardSums` and
;;    `backwardDx`, 128-bit SIMD over channels: x is NHWC, seen as `rows` rows of `c` contiguous channels;
;;  - the channel-axis Concat and SplitV kernels (concat.ts): `copyRows`;
;;  - the max pool gradient (pool.ts): `maxPoolGrad`;
;;  - the convolution gradients (register.ts): `flipSwap` (the input gradient's filter) and `convFilterGrad` (the
;;    filter gradient), at the end of the file.
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

;; Gradient of an NHWC max pool (MaxPoolGrad, pool.ts): dx = 0, then each output's dy[n,oh,ow,c] is added to dx at
;; the first maximum (row-major window order, strictly greater wins, padding never) of x over its window.
;; x, dx: [n,h,w,c], dy: [n,ho,wo,c], f32, c % 4 == 0 (the caller checks). 4 channels at a time: the window's
;; maximum and its position as vectors, then 4 scalar additions.
  (func (export "maxPoolGrad")
    (param $x i32) (param $dy i32) (param $dx i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $ho i32) (param $wo i32) (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32)
    (param $pt i32) (param $pl i32)
    (local $img i32) (local $oh i32) (local $ow i32) (local $c0 i32) (local $fy i32) (local $fx i32) (local $ih i32)
    (local $iw i32) (local $i i32) (local $p i32) (local $end i32) (local $xImg i32) (local $dxImg i32) (local $pdy i32)
    (local $imgBytes i32)
    (local $best v128) (local $bi v128) (local $v v128) (local $m v128) (local $g v128)
    (local.set $imgBytes (i32.shl (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $c)) (i32.const 2)))
    (local.set $p (local.get $dx))
    (local.set $end (i32.add (local.get $dx) (i32.mul (local.get $n) (local.get $imgBytes))))
    (block $zdone
      (loop $zero
        (br_if $zdone (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store align=4 (local.get $p) (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $zero)))
    (local.set $pdy (local.get $dy))
    (local.set $img (i32.const 0))
    (block $imgDone
      (loop $imgLoop
        (br_if $imgDone (i32.ge_u (local.get $img) (local.get $n)))
        (local.set $xImg (i32.add (local.get $x) (i32.mul (local.get $img) (local.get $imgBytes))))
        (local.set $dxImg (i32.add (local.get $dx) (i32.mul (local.get $img) (local.get $imgBytes))))
        (local.set $oh (i32.const 0))
        (block $ohDone
          (loop $ohLoop
            (br_if $ohDone (i32.ge_u (local.get $oh) (local.get $ho)))
            (local.set $ow (i32.const 0))
            (block $owDone
              (loop $owLoop
                (br_if $owDone (i32.ge_u (local.get $ow) (local.get $wo)))
                (local.set $c0 (i32.const 0))
                (block $cDone
                  (loop $cLoop
                    (br_if $cDone (i32.ge_u (local.get $c0) (local.get $c)))
                    (local.set $best (f32x4.splat (f32.const -inf)))
                    (local.set $bi (i32x4.splat (i32.const -1)))
                    (local.set $fy (i32.const 0))
                    (block $fyDone
                      (loop $fyLoop
                        (br_if $fyDone (i32.ge_u (local.get $fy) (local.get $kh)))
                        (local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sh)) (local.get $pt)) (local.get $fy)))
                        (if (i32.lt_u (local.get $ih) (local.get $h))
                          (then
                            (local.set $fx (i32.const 0))
                            (block $fxDone
                              (loop $fxLoop
                                (br_if $fxDone (i32.ge_u (local.get $fx) (local.get $kw)))
                                (local.set $iw (i32.add (i32.sub (i32.mul (local.get $ow) (local.get $sw)) (local.get $pl)) (local.get $fx)))
                                (if (i32.lt_u (local.get $iw) (local.get $w))
                                  (then
                                    (local.set $i (i32.add (i32.mul (local.get $ih) (local.get $w)) (local.get $iw)))
                                    (local.set $v (v128.load align=4 (i32.add (local.get $xImg)
                                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $c)) (local.get $c0)) (i32.const 2)))))
                                    (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                                    (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                                    (local.set $bi (v128.bitselect (i32x4.splat (local.get $i)) (local.get $bi) (local.get $m)))))
                                (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                                (br $fxLoop)))))
                        (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
                        (br $fyLoop)))
                    (local.set $g (v128.load align=4 (local.get $pdy)))
                (local.set $i (i32x4.extract_lane 0 (local.get $bi)))
                (if (i32.ge_s (local.get $i) (i32.const 0))
                  (then
                    (local.set $p (i32.add (local.get $dxImg)
                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $c)) (i32.add (local.get $c0) (i32.const 0))) (i32.const 2))))
                    (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 0 (local.get $g))))))
                (local.set $i (i32x4.extract_lane 1 (local.get $bi)))
                (if (i32.ge_s (local.get $i) (i32.const 0))
                  (then
                    (local.set $p (i32.add (local.get $dxImg)
                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $c)) (i32.add (local.get $c0) (i32.const 1))) (i32.const 2))))
                    (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 1 (local.get $g))))))
                (local.set $i (i32x4.extract_lane 2 (local.get $bi)))
                (if (i32.ge_s (local.get $i) (i32.const 0))
                  (then
                    (local.set $p (i32.add (local.get $dxImg)
                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $c)) (i32.add (local.get $c0) (i32.const 2))) (i32.const 2))))
                    (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 2 (local.get $g))))))
                (local.set $i (i32x4.extract_lane 3 (local.get $bi)))
                (if (i32.ge_s (local.get $i) (i32.const 0))
                  (then
                    (local.set $p (i32.add (local.get $dxImg)
                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $c)) (i32.add (local.get $c0) (i32.const 3))) (i32.const 2))))
                    (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 3 (local.get $g))))))
                    (local.set $pdy (i32.add (local.get $pdy) (i32.const 16)))
                    (local.set $c0 (i32.add (local.get $c0) (i32.const 4)))
                    (br $cLoop)))
                (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                (br $owLoop)))
            (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
            (br $ohLoop)))
        (local.set $img (i32.add (local.get $img) (i32.const 1)))
        (br $imgLoop))))

;; dst[taps-1-t, o, i] = src[t, i, o] for t < taps, i < ci, o < co (f32): a [KH,KW,Ci,Co] filter flipped in space
;; with its channel axes swapped, as the input gradient's convolution needs it (Conv2DBackpropInput, register.ts).
;; 8 x 8 blocks, so that the strided side of each block stays in a few cache lines.
  (func (export "flipSwap")
    (param $src i32) (param $dst i32) (param $taps i32) (param $ci i32) (param $co i32)
    (local $t i32) (local $i0 i32) (local $o0 i32) (local $i i32) (local $o i32) (local $iEnd i32) (local $oEnd i32)
    (local $s i32) (local $d i32)
    (block $tDone
      (loop $tLoop
        (br_if $tDone (i32.ge_u (local.get $t) (local.get $taps)))
        (local.set $s (i32.add (local.get $src)
          (i32.shl (i32.mul (i32.mul (local.get $t) (local.get $ci)) (local.get $co)) (i32.const 2))))
        (local.set $d (i32.add (local.get $dst)
          (i32.shl (i32.mul (i32.mul (i32.sub (i32.sub (local.get $taps) (i32.const 1)) (local.get $t)) (local.get $ci))
                            (local.get $co))
                   (i32.const 2))))
        (local.set $i0 (i32.const 0))
        (block $iDone
          (loop $iLoop
            (br_if $iDone (i32.ge_u (local.get $i0) (local.get $ci)))
            (local.set $iEnd (i32.add (local.get $i0) (i32.const 8)))
            (if (i32.gt_u (local.get $iEnd) (local.get $ci)) (then (local.set $iEnd (local.get $ci))))
            (local.set $o0 (i32.const 0))
            (block $oDone
              (loop $oLoop
                (br_if $oDone (i32.ge_u (local.get $o0) (local.get $co)))
                (local.set $oEnd (i32.add (local.get $o0) (i32.const 8)))
                (if (i32.gt_u (local.get $oEnd) (local.get $co)) (then (local.set $oEnd (local.get $co))))
                (local.set $i (local.get $i0))
                (loop $i
                  (local.set $o (local.get $o0))
                  (loop $o
                    (f32.store
                      (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (local.get $o) (local.get $ci)) (local.get $i)) (i32.const 2)))
                      (f32.load
                        (i32.add (local.get $s) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $co)) (local.get $o)) (i32.const 2)))))
                    (local.set $o (i32.add (local.get $o) (i32.const 1)))
                    (br_if $o (i32.lt_u (local.get $o) (local.get $oEnd))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $i (i32.lt_u (local.get $i) (local.get $iEnd))))
                (local.set $o0 (local.get $oEnd))
                (br $oLoop)))
            (local.set $i0 (local.get $iEnd))
            (br $iLoop)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tLoop))))

;; Filter gradient of an NHWC convolution with dilation 1 (Conv2DBackpropFilter, register.ts):
;;   dw[fy,fx,c,o] = sum over n,oh,ow of x[n, oh*sh - pt + fy, ow*sw - pl + fx, c] * dy[n,oh,ow,o]
;; (terms outside x are zero padding). x: [n,h,w,ci], dy: [n,ho,wo,co], dw: [kh,kw,ci,co], all f32; ci % 4 == 0
;; and co % 4 == 0 (the caller checks). Outer products accumulated in registers, 4 input x 8 output channels
;; at a time (x values splat, dy rows as vectors; mul then add, no FMA), over chunks of ~128 output pixels so
;; that a chunk's x and dy stay in the L1/L2 caches while all its filter taps and channel tiles are summed.
  (func (export "convFilterGrad")
    (param $x i32) (param $dy i32) (param $dw i32) (param $n i32) (param $h i32) (param $w i32) (param $ci i32)
    (param $ho i32) (param $wo i32) (param $co i32) (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32)
    (param $pt i32) (param $pl i32)
    (local $rows i32) (local $rc i32) (local $r0 i32) (local $r1 i32) (local $n0 i32) (local $oh0 i32)
    (local $fy i32) (local $fx i32) (local $owLo i32) (local $owHi i32) (local $t i32) (local $c0 i32) (local $o0 i32)
    (local $o8 i32) (local $tap i32) (local $p i32) (local $end i32)
    ;; dw = 0
    (local.set $p (local.get $dw))
    (local.set $end (i32.add (local.get $dw)
      (i32.shl (i32.mul (i32.mul (i32.mul (local.get $kh) (local.get $kw)) (local.get $ci)) (local.get $co)) (i32.const 2))))
    (block $zdone
      (loop $zero
        (br_if $zdone (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store align=4 (local.get $p) (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $zero)))
    (local.set $o8 (i32.and (local.get $co) (i32.const -8)))
    (local.set $rows (i32.mul (local.get $n) (local.get $ho)))
    (local.set $rc (i32.div_u (i32.const 128) (local.get $wo)))
    (if (i32.eqz (local.get $rc)) (then (local.set $rc (i32.const 1))))
    (local.set $r0 (i32.const 0))
    (block $chunksDone
      (loop $chunk
        (br_if $chunksDone (i32.ge_u (local.get $r0) (local.get $rows)))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rc)))
        (if (i32.gt_u (local.get $r1) (local.get $rows)) (then (local.set $r1 (local.get $rows))))
        (local.set $n0 (i32.div_u (local.get $r0) (local.get $ho)))
        (local.set $oh0 (i32.sub (local.get $r0) (i32.mul (local.get $n0) (local.get $ho))))
        (local.set $fy (i32.const 0))
        (block $fyDone
          (loop $fyLoop
            (br_if $fyDone (i32.ge_u (local.get $fy) (local.get $kh)))
            (local.set $fx (i32.const 0))
            (block $fxDone
              (loop $fxLoop
                (br_if $fxDone (i32.ge_u (local.get $fx) (local.get $kw)))
                ;; output columns whose input column ow*sw - pl + fx is inside x: owLo <= ow < owHi
                (local.set $t (i32.sub (local.get $pl) (local.get $fx)))
                (local.set $owLo (i32.const 0))
                (if (i32.gt_s (local.get $t) (i32.const 0))
                  (then (local.set $owLo (i32.div_u (i32.add (local.get $t) (i32.sub (local.get $sw) (i32.const 1))) (local.get $sw)))))
                (local.set $t (i32.add (i32.sub (local.get $w) (i32.const 1)) (local.get $t)))
                (local.set $owHi (i32.const 0))
                (if (i32.ge_s (local.get $t) (i32.const 0))
                  (then (local.set $owHi (i32.add (i32.div_u (local.get $t) (local.get $sw)) (i32.const 1)))))
                (if (i32.gt_u (local.get $owHi) (local.get $wo)) (then (local.set $owHi (local.get $wo))))
                (if (i32.lt_u (local.get $owLo) (local.get $owHi))
                  (then
                    (local.set $tap (i32.mul (i32.add (i32.mul (local.get $fy) (local.get $kw)) (local.get $fx)) (local.get $ci)))
                    (local.set $c0 (i32.const 0))
                    (block $cDone
                      (loop $cLoop
                        (br_if $cDone (i32.ge_u (local.get $c0) (local.get $ci)))
                        (local.set $o0 (i32.const 0))
                        (block $oDone
                          (loop $oLoop
                            (br_if $oDone (i32.ge_u (local.get $o0) (local.get $o8)))
                            (call $tile8 (local.get $x) (local.get $dy)
                              (i32.add (local.get $dw)
                                (i32.shl (i32.add (i32.mul (i32.add (local.get $tap) (local.get $c0)) (local.get $co)) (local.get $o0))
                                         (i32.const 2)))
                              (local.get $r0) (local.get $r1) (local.get $n0) (local.get $oh0) (local.get $h) (local.get $w)
                              (local.get $ci) (local.get $ho) (local.get $wo) (local.get $co) (local.get $sh) (local.get $pt)
                              (local.get $fy)
                              (i32.add (i32.sub (i32.mul (local.get $owLo) (local.get $sw)) (local.get $pl)) (local.get $fx))
                              (i32.shl (i32.mul (local.get $sw) (local.get $ci)) (i32.const 2))
                              (local.get $owLo) (i32.sub (local.get $owHi) (local.get $owLo)) (local.get $c0) (local.get $o0))
                            (local.set $o0 (i32.add (local.get $o0) (i32.const 8)))
                            (br $oLoop)))
                        (if (i32.lt_u (local.get $o0) (local.get $co))
                          (then
                            (call $tile4 (local.get $x) (local.get $dy)
                              (i32.add (local.get $dw)
                                (i32.shl (i32.add (i32.mul (i32.add (local.get $tap) (local.get $c0)) (local.get $co)) (local.get $o0))
                                         (i32.const 2)))
                              (local.get $r0) (local.get $r1) (local.get $n0) (local.get $oh0) (local.get $h) (local.get $w)
                              (local.get $ci) (local.get $ho) (local.get $wo) (local.get $co) (local.get $sh) (local.get $pt)
                              (local.get $fy)
                              (i32.add (i32.sub (i32.mul (local.get $owLo) (local.get $sw)) (local.get $pl)) (local.get $fx))
                              (i32.shl (i32.mul (local.get $sw) (local.get $ci)) (i32.const 2))
                              (local.get $owLo) (i32.sub (local.get $owHi) (local.get $owLo)) (local.get $c0) (local.get $o0))))
                        (local.set $c0 (i32.add (local.get $c0) (i32.const 4)))
                        (br $cLoop)))))
                (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                (br $fxLoop)))
            (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
            (br $fyLoop)))
        (local.set $r0 (local.get $r1))
        (br $chunk))))

  ;; One 4x8 (input channels c0..c0+3 x output channels o0..o0+7) tile of dW[fy,fx] (at $dwp, rows of
  ;; `co` values) += the products over output rows r0..r1-1 (the flattened (n, oh) index, starting at image n0,
  ;; row oh0) whose input row oh*sh - pt + fy is inside x, output columns owLo..owLo+cnt-1.
  (func $tile8
    (param $x i32) (param $dy i32) (param $dwp i32) (param $r0 i32) (param $r1 i32) (param $n0 i32) (param $oh0 i32)
    (param $h i32) (param $w i32) (param $ci i32) (param $ho i32) (param $wo i32) (param $co i32) (param $sh i32)
    (param $pt i32) (param $fy i32) (param $xoff i32) (param $xstep i32) (param $owLo i32) (param $cnt i32)
    (param $c0 i32) (param $o0 i32)
    (local $p i32) (local $dwRow i32) (local $r i32) (local $n i32) (local $oh i32) (local $ih i32)
    (local $px i32) (local $pd i32) (local $pdEnd i32) (local $dstep i32)
    (local $s v128) (local $d0 v128) (local $d1 v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local.set $dwRow (i32.shl (local.get $co) (i32.const 2)))
    (local.set $dstep (local.get $dwRow))
    (local.set $p (local.get $dwp))
    (local.set $a0 (v128.load align=4 (local.get $p)))
    (local.set $a1 (v128.load offset=16 align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $a2 (v128.load align=4 (local.get $p)))
    (local.set $a3 (v128.load offset=16 align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $a4 (v128.load align=4 (local.get $p)))
    (local.set $a5 (v128.load offset=16 align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $a6 (v128.load align=4 (local.get $p)))
    (local.set $a7 (v128.load offset=16 align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $r (local.get $r0))
    (local.set $n (local.get $n0))
    (local.set $oh (local.get $oh0))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $r1)))
        (local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sh)) (local.get $pt)) (local.get $fy)))
        (if (i32.lt_u (local.get $ih) (local.get $h))
          (then
            (local.set $px (i32.add (local.get $x)
              (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $h)) (local.get $ih))
                                                           (local.get $w))
                                                  (local.get $xoff))
                                         (local.get $ci))
                                (local.get $c0))
                       (i32.const 2))))
            (local.set $pd (i32.add (local.get $dy)
              (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $r) (local.get $wo)) (local.get $owLo)) (local.get $co))
                                (local.get $o0))
                       (i32.const 2))))
            (local.set $pdEnd (i32.add (local.get $pd) (i32.mul (local.get $cnt) (local.get $dstep))))
            (loop $step
                (local.set $d0 (v128.load align=4 (local.get $pd)))
                (local.set $d1 (v128.load offset=16 align=4 (local.get $pd)))
                (local.set $s (v128.load32_splat align=4 (local.get $px)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=4 align=4 (local.get $px)))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=8 align=4 (local.get $px)))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=12 align=4 (local.get $px)))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $d1))))
              (local.set $px (i32.add (local.get $px) (local.get $xstep)))
              (local.set $pd (i32.add (local.get $pd) (local.get $dstep)))
              (br_if $step (i32.lt_u (local.get $pd) (local.get $pdEnd))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (if (i32.eq (local.get $oh) (local.get $ho))
          (then
            (local.set $oh (i32.const 0))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (br $row)))
    (local.set $p (local.get $dwp))
    (v128.store align=4 (local.get $p) (local.get $a0))
    (v128.store offset=16 align=4 (local.get $p) (local.get $a1))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (v128.store align=4 (local.get $p) (local.get $a2))
    (v128.store offset=16 align=4 (local.get $p) (local.get $a3))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (v128.store align=4 (local.get $p) (local.get $a4))
    (v128.store offset=16 align=4 (local.get $p) (local.get $a5))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (v128.store align=4 (local.get $p) (local.get $a6))
    (v128.store offset=16 align=4 (local.get $p) (local.get $a7))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow))))

  ;; One 4x4 (input channels c0..c0+3 x output channels o0..o0+3) tile of dW[fy,fx] (at $dwp, rows of
  ;; `co` values) += the products over output rows r0..r1-1 (the flattened (n, oh) index, starting at image n0,
  ;; row oh0) whose input row oh*sh - pt + fy is inside x, output columns owLo..owLo+cnt-1.
  (func $tile4
    (param $x i32) (param $dy i32) (param $dwp i32) (param $r0 i32) (param $r1 i32) (param $n0 i32) (param $oh0 i32)
    (param $h i32) (param $w i32) (param $ci i32) (param $ho i32) (param $wo i32) (param $co i32) (param $sh i32)
    (param $pt i32) (param $fy i32) (param $xoff i32) (param $xstep i32) (param $owLo i32) (param $cnt i32)
    (param $c0 i32) (param $o0 i32)
    (local $p i32) (local $dwRow i32) (local $r i32) (local $n i32) (local $oh i32) (local $ih i32)
    (local $px i32) (local $pd i32) (local $pdEnd i32) (local $dstep i32)
    (local $s v128) (local $d0 v128) (local $d1 v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $dwRow (i32.shl (local.get $co) (i32.const 2)))
    (local.set $dstep (local.get $dwRow))
    (local.set $p (local.get $dwp))
    (local.set $a0 (v128.load align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $a1 (v128.load align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $a2 (v128.load align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $a3 (v128.load align=4 (local.get $p)))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (local.set $r (local.get $r0))
    (local.set $n (local.get $n0))
    (local.set $oh (local.get $oh0))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $r1)))
        (local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sh)) (local.get $pt)) (local.get $fy)))
        (if (i32.lt_u (local.get $ih) (local.get $h))
          (then
            (local.set $px (i32.add (local.get $x)
              (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $h)) (local.get $ih))
                                                           (local.get $w))
                                                  (local.get $xoff))
                                         (local.get $ci))
                                (local.get $c0))
                       (i32.const 2))))
            (local.set $pd (i32.add (local.get $dy)
              (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $r) (local.get $wo)) (local.get $owLo)) (local.get $co))
                                (local.get $o0))
                       (i32.const 2))))
            (local.set $pdEnd (i32.add (local.get $pd) (i32.mul (local.get $cnt) (local.get $dstep))))
            (loop $step
                (local.set $d0 (v128.load align=4 (local.get $pd)))
                (local.set $s (v128.load32_splat align=4 (local.get $px)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $s (v128.load32_splat offset=4 align=4 (local.get $px)))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $s (v128.load32_splat offset=8 align=4 (local.get $px)))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $s (v128.load32_splat offset=12 align=4 (local.get $px)))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d0))))
              (local.set $px (i32.add (local.get $px) (local.get $xstep)))
              (local.set $pd (i32.add (local.get $pd) (local.get $dstep)))
              (br_if $step (i32.lt_u (local.get $pd) (local.get $pdEnd))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (if (i32.eq (local.get $oh) (local.get $ho))
          (then
            (local.set $oh (i32.const 0))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (br $row)))
    (local.set $p (local.get $dwp))
    (v128.store align=4 (local.get $p) (local.get $a0))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (v128.store align=4 (local.get $p) (local.get $a1))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (v128.store align=4 (local.get $p) (local.get $a2))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow)))
    (v128.store align=4 (local.get $p) (local.get $a3))
    (local.set $p (i32.add (local.get $p) (local.get $dwRow))))
)
