/*
 * banned.h - functions this project does not use, turned into compile errors
 * (after git's banned.h): unbounded copies and formats. Use snprintf/strbuf.
 */
#ifndef JOBADS_BANNED_H
#define JOBADS_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)

#endif
