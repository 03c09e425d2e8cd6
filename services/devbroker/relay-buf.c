/* A growable byte buffer: what the relay reads and writes, and its logs' answers. */
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int buf_put(buf_t *b, const char *d, size_t n) {
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *nd;
                while (cap < b->len + n)
                        cap *= 2;
                if (!(nd = realloc(b->d, cap)))
                        return -1;
                b->d   = nd;
                b->cap = cap;
        }
        memcpy(b->d + b->len, d, n);
        b->len += n;
        return 0;
}

void buf_drop(buf_t *b, size_t n) {
        memmove(b->d, b->d + n, b->len - n);
        b->len -= n;
        /* Give back a big buffer once it has drained. */
        if (!b->len && b->cap > 1024 * 1024) {
                free(b->d);
                b->d   = NULL;
                b->cap = 0;
        }
}

void buf_free(buf_t *b) {
        free(b->d);
        memset(b, 0, sizeof(*b));
}
