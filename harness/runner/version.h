/* version.h — the commit skv was built from (git describe --always --dirty), generated into the build by the Makefile. */
#ifndef SKV_VERSION_H
#define SKV_VERSION_H

extern const char skv_version[];

#endif /* SKV_VERSION_H */
