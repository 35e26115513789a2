/*
 * grow.h - room for one more element in an array that doubles as it fills.
 */
#ifndef SP_ENGINE_GROW_H
#define SP_ENGINE_GROW_H

#include <stddef.h>
#include <stdlib.h>

/*
 * v holds n elements of `size` bytes in room for *cap. Returns v if there
 * is room for one more, else v grown to twice its room (`first` elements
 * the first time), with *cap updated; NULL if that fails, v then being left
 * as it was.
 */
static inline void *sp_grow(void *v, size_t n, size_t *cap, size_t size,
                            size_t first)
{
    size_t nc;

    if (n < *cap)
        return v;
    nc = *cap ? *cap * 2 : first;
    v = realloc(v, nc * size);
    if (v != NULL)
        *cap = nc;
    return v;
}

#endif
