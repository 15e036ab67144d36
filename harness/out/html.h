/* html.h — writing text into HTML: the escapes report.html and the summary's HTML form share. */
#ifndef SKV_HTML_H
#define SKV_HTML_H

#include <stdio.h>

/* s with &, <, > and " written as entities. */
void skv_html_escape(FILE *f, const char *s);

#endif /* SKV_HTML_H */
