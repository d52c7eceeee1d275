/* Minimal .npy (version 1/2, little-endian float32, C order) reader for the C tests and examples. */
#ifndef RONN_TEST_NPY_H
#define RONN_TEST_NPY_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float *data;
    int64_t shape[8];
    size_t rank;
    size_t count;
} npy_f32;

/* Returns 0 on success; free npy->data with free(). */
static int npy_read_f32(const char *path, npy_f32 *npy) {
    FILE *f = fopen(path, "rb");
    unsigned char magic[10];
    size_t hlen, i;
    char *hdr, *p;
    if (!f) return -1;
    if (fread(magic, 1, 10, f) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0) { fclose(f); return -1; }
    if (magic[6] == 1) {
        hlen = (size_t)magic[8] | ((size_t)magic[9] << 8);
    } else {
        unsigned char more[2];
        if (fread(more, 1, 2, f) != 2) { fclose(f); return -1; }
        hlen = (size_t)magic[8] | ((size_t)magic[9] << 8) | ((size_t)more[0] << 16) | ((size_t)more[1] << 24);
    }
    hdr = (char *)calloc(hlen + 1, 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen || !strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True")) {
        free(hdr); fclose(f); return -1;
    }
    p = strstr(hdr, "'shape': (");
    if (!p) { free(hdr); fclose(f); return -1; }
    p += strlen("'shape': (");
    npy->rank = 0;
    npy->count = 1;
    while (*p && *p != ')' && npy->rank < 8) {
        char *end;
        long long d = strtoll(p, &end, 10);
        if (end == p) break;
        npy->shape[npy->rank++] = (int64_t)d;
        npy->count *= (size_t)d;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    free(hdr);
    npy->data = (float *)malloc(npy->count * sizeof(float) + 1);
    if (!npy->data) { fclose(f); return -1; }
    i = fread(npy->data, sizeof(float), npy->count, f);
    fclose(f);
    if (i != npy->count) { free(npy->data); npy->data = NULL; return -1; }
    return 0;
}
#endif
