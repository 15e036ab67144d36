/* text_file.h — a whole file read into memory as one NUL-terminated string. */
#ifndef SKV_TEXT_FILE_H
#define SKV_TEXT_FILE_H

#include <stddef.h>

/* The file at path (malloc'd, NUL-terminated; its length in *len when len is set), NULL when it
 * cannot be opened or read, or out of memory. */
char *skv_read_text_file(const char *path, size_t *len);

#endif /* SKV_TEXT_FILE_H */
