/*
 * Native RFC 9162 hashing loops for provenance.merkle.
 *
 * Why this exists: hashlib allocates and initialises an OpenSSL EVP context per call, which
 * caps a Python loop at 1-2.5 M hashes/s; a 1 M-leaf tree needs 2 M hashes. Here one call
 * hashes a whole level with OpenSSL's SHA-256 (SHA-NI where the CPU has it) and releases the
 * GIL, so two threads can hash the two halves of a level on two cores.
 *
 * The pure-Python code in provenance/merkle.py is the reference; tests compare the two.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/sha.h>
#include <string.h>

#define HASH_LEN 32

static const unsigned char LEAF_PREFIX = 0x00;
static const unsigned char NODE_PREFIX = 0x01;

/* leaf_hashes(items: Sequence[bytes]) -> bytes: concatenated SHA-256(0x00 || item). */
static PyObject *
leaf_hashes(PyObject *self, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "leaf_hashes expects a sequence of bytes");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * HASH_LEN);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = items[i];
        if (!PyBytes_Check(item)) {
            PyErr_Format(PyExc_TypeError, "leaf %zd is not bytes", i);
            Py_DECREF(out);
            Py_DECREF(seq);
            return NULL;
        }
        SHA256_CTX ctx;
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, &LEAF_PREFIX, 1);
        SHA256_Update(&ctx, PyBytes_AS_STRING(item), (size_t)PyBytes_GET_SIZE(item));
        SHA256_Final(dst + i * HASH_LEN, &ctx);
    }
    Py_DECREF(seq);
    return out;
}

/*
 * parent_hashes(level: bytes-like, start: int, stop: int) -> bytes
 * Hashes the node pairs start..stop-1 of a level (pair j = hashes 2j and 2j+1).
 */
static PyObject *
parent_hashes(PyObject *self, PyObject *args)
{
    Py_buffer level;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "y*nn", &level, &start, &stop)) {
        return NULL;
    }
    if (level.len % HASH_LEN != 0) {
        PyBuffer_Release(&level);
        PyErr_SetString(PyExc_ValueError, "level length is not a multiple of 32");
        return NULL;
    }
    Py_ssize_t pairs = (level.len / HASH_LEN) / 2;
    if (start < 0 || stop < start || stop > pairs) {
        PyBuffer_Release(&level);
        PyErr_SetString(PyExc_ValueError, "pair range out of bounds");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (stop - start) * HASH_LEN);
    if (out == NULL) {
        PyBuffer_Release(&level);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char *src = (const unsigned char *)level.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = start; j < stop; j++) {
        SHA256_CTX ctx;
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, &NODE_PREFIX, 1);
        SHA256_Update(&ctx, src + 2 * j * HASH_LEN, 2 * HASH_LEN);
        SHA256_Final(dst + (j - start) * HASH_LEN, &ctx);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&level);
    return out;
}

/*
 * path_text_digest(path: list) -> bytes | None
 * SHA-256 of an inclusion path's hashes top level first, each as written ("0x" and 64 lowercase
 * hex digits), when every item is a str of that form; None otherwise (the caller decodes it).
 * provenance.merkle_levels.path_digests gives the same digest of the tree's paths. In Python
 * this was ~7.5 us of the ~26 us a verifier spends per record of a large collection.
 */
static PyObject *
path_text_digest(PyObject *self, PyObject *arg)
{
    if (!PyList_Check(arg)) {
        Py_RETURN_NONE;
    }
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    for (Py_ssize_t i = PyList_GET_SIZE(arg) - 1; i >= 0; i--) {
        PyObject *item = PyList_GET_ITEM(arg, i);
        if (!PyUnicode_Check(item) || !PyUnicode_IS_COMPACT_ASCII(item) ||
            PyUnicode_GET_LENGTH(item) != 66) {
            Py_RETURN_NONE;
        }
        const char *text = (const char *)PyUnicode_DATA(item);
        if (text[0] != '0' || text[1] != 'x') {
            Py_RETURN_NONE;
        }
        for (int k = 2; k < 66; k++) {
            char c = text[k];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                Py_RETURN_NONE;
            }
        }
        SHA256_Update(&ctx, text, 66);
    }
    unsigned char digest[HASH_LEN];
    SHA256_Final(digest, &ctx);
    return PyBytes_FromStringAndSize((const char *)digest, HASH_LEN);
}

#define MAX_LEVELS 62 /* a tree of 2^61 leaves; the shifts below stay within Py_ssize_t */

static const char HEX[] = "0123456789abcdef";

/* The leaves start..stop-1 under node j of level k: each gets its digest in out[leaf - start]. */
static void
digest_paths_under(const unsigned char *const *levels, const Py_ssize_t *counts, int k,
                   Py_ssize_t j, const SHA256_CTX *above, Py_ssize_t start, Py_ssize_t stop,
                   unsigned char *out)
{
    if (k == 0) {
        SHA256_CTX state = *above;
        SHA256_Final(out + (j - start) * HASH_LEN, &state);
        return;
    }
    for (Py_ssize_t c = 2 * j; c <= 2 * j + 1; c++) {
        /* the leaves under node c of level k-1 are [c << (k-1), (c + 1) << (k-1)) */
        if (c >= counts[k - 1] || ((c + 1) << (k - 1)) <= start || (c << (k - 1)) >= stop) {
            continue;
        }
        SHA256_CTX state = *above;
        Py_ssize_t s = c ^ 1;
        if (s < counts[k - 1]) { /* a promoted odd node has no sibling: RFC 9162 skips it */
            char text[2 + 2 * HASH_LEN] = {'0', 'x'};
            const unsigned char *h = levels[k - 1] + s * HASH_LEN;
            for (int b = 0; b < HASH_LEN; b++) {
                text[2 + 2 * b] = HEX[h[b] >> 4];
                text[3 + 2 * b] = HEX[h[b] & 15];
            }
            SHA256_Update(&state, text, sizeof text);
        }
        digest_paths_under(levels, counts, k - 1, c, &state, start, stop, out);
    }
}

/*
 * path_digests(levels: Sequence[bytes], start: int, stop: int) -> bytes
 * provenance.merkle_levels.path_digests (the reference) in C: for each leaf start..stop-1, the
 * SHA-256 of its inclusion path top level first, each hash written "0x" and lowercase hex.
 */
static PyObject *
path_digests(PyObject *self, PyObject *args)
{
    PyObject *arg;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "Onn", &arg, &start, &stop)) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(arg, "path_digests expects a sequence of levels");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const unsigned char *levels[MAX_LEVELS];
    Py_ssize_t counts[MAX_LEVELS];
    if (n < 1 || n > MAX_LEVELS) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "between 1 and 62 levels");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *level = PySequence_Fast_GET_ITEM(seq, k);
        if (!PyBytes_Check(level) || PyBytes_GET_SIZE(level) % HASH_LEN != 0) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "level %zd is not bytes of whole hashes", k);
            return NULL;
        }
        levels[k] = (const unsigned char *)PyBytes_AS_STRING(level);
        counts[k] = PyBytes_GET_SIZE(level) / HASH_LEN;
    }
    if (start < 0 || stop > counts[0] || start > stop) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "leaf range out of bounds");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (stop - start) * HASH_LEN);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    if (start < stop) {
        Py_BEGIN_ALLOW_THREADS
        SHA256_CTX empty;
        SHA256_Init(&empty);
        digest_paths_under(levels, counts, (int)n - 1, 0, &empty, start, stop, dst);
        Py_END_ALLOW_THREADS
    }
    Py_DECREF(seq);
    return out;
}

static PyMethodDef methods[] = {
    {"path_digests", path_digests, METH_VARARGS,
     "SHA-256 of each leaf's inclusion path (0x-hex, top level first), leaves start..stop-1."},
    {"path_text_digest", path_text_digest, METH_O,
     "SHA-256 of a path's 0x-hex hashes top level first, or None when it is not written so."},
    {"leaf_hashes", leaf_hashes, METH_O, "Concatenated SHA-256(0x00 || item) of each item."},
    {"parent_hashes", parent_hashes, METH_VARARGS,
     "SHA-256(0x01 || left || right) of the pairs start..stop-1 of a level."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "provenance._sha256", "Native RFC 9162 hashing loops.", -1, methods,
};

PyMODINIT_FUNC
PyInit__sha256(void)
{
    return PyModule_Create(&module);
}
