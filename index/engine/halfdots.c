/* Dot products of half-precision rows with single-precision vectors (index/halfrows.py).
 *
 * Ranking reads every expansion row for every question: 6,733 rows of 384 floats, 10 MB, which
 * a question's embedding has just pushed out of the CPU's caches. Stored as IEEE half precision
 * they are 5 MB: half the memory traffic, and less of the model's weights pushed out in turn.
 *
 * Each dot product is summed in one fixed order (two 8-lane accumulators over the dimensions,
 * then a fixed reduction), whatever the number of vectors asked with it, so a row's score for a
 * question is the same bit for bit when it is asked alone or with others.
 *
 * Build: cc -O3 -march=haswell -shared -fPIC (F16C, FMA and AVX2; the Makefile's `install`).
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

static float dot(const uint16_t *row, const float *v, int d) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 16 <= d; j += 16) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j))), _mm256_loadu_ps(v + j), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j + 8))), _mm256_loadu_ps(v + j + 8), a1);
    }
    if (j + 8 <= d) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j))), _mm256_loadu_ps(v + j), a0);
        j += 8;
    }
    __m256 s = _mm256_add_ps(a0, a1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_hadd_ps(h, h);
    h = _mm_hadd_ps(h, h);
    float total = _mm_cvtss_f32(h);
    for (; j < d; j++)
        total += _cvtsh_ss(row[j]) * v[j];
    return total;
}

/* out[i * m + c] = rows[i] . vectors[c], for n rows of d halves and m vectors of d floats. */
void halfdots(const uint16_t *rows, long n, int d, const float *vectors, int m, float *out) {
    for (long i = 0; i < n; i++) {
        const uint16_t *row = rows + i * (long)d;
        for (int c = 0; c < m; c++)
            out[i * m + c] = dot(row, vectors + (long)c * d, d);
    }
}
