// libedit for Swift: histedit.h plus static inline wrappers for the variadic el_set,
// el_get and history calls, which Swift cannot call directly (DESIGN.md §2 rule 6).
#ifndef WSC_CEDITLINE_SHIM_H
#define WSC_CEDITLINE_SHIM_H

#include <stdio.h>
#include <wchar.h>
#include <locale.h>
#include <histedit.h>

typedef char *(*wsc_el_prompt_fn)(EditLine *);

static inline int wsc_el_set_prompt(EditLine *el, wsc_el_prompt_fn fn) {
  return el_set(el, EL_PROMPT, fn);
}

static inline int wsc_el_set_editor(EditLine *el, const char *mode) {
  return el_set(el, EL_EDITOR, mode);
}

static inline int wsc_el_set_signal(EditLine *el, int on) { return el_set(el, EL_SIGNAL, on); }

static inline int wsc_el_set_hist(EditLine *el, History *h) {
  return el_set(el, EL_HIST, history, h);
}

static inline int wsc_el_set_getcfn(EditLine *el, el_rfunc_t fn) {
  return el_set(el, EL_GETCFN, fn);
}

static inline int wsc_el_refresh(EditLine *el) { return el_set(el, EL_REFRESH); }

static inline int wsc_el_bind(EditLine *el, const char *key, const char *function) {
  return el_set(el, EL_BIND, key, function, (const char *)NULL);
}

// wcwidth is only declared under _XOPEN_SOURCE; glibc always exports it.
extern int wcwidth(wchar_t c);
static inline int wsc_wcwidth(wchar_t c) { return wcwidth(c); }

static inline int wsc_history_setsize(History *h, int n) {
  HistEvent ev;
  return history(h, &ev, H_SETSIZE, n);
}

static inline int wsc_history_setunique(History *h, int on) {
  HistEvent ev;
  return history(h, &ev, H_SETUNIQUE, on);
}

static inline int wsc_history_enter(History *h, const char *line) {
  HistEvent ev;
  return history(h, &ev, H_ENTER, line);
}

static inline int wsc_history_load(History *h, const char *path) {
  HistEvent ev;
  return history(h, &ev, H_LOAD, path);
}

static inline int wsc_history_save(History *h, const char *path) {
  HistEvent ev;
  return history(h, &ev, H_SAVE, path);
}

// The libedit headers' version (histedit.h), for --version: libedit has no runtime query.
static inline int wsc_libedit_major(void) { return LIBEDIT_MAJOR; }
static inline int wsc_libedit_minor(void) { return LIBEDIT_MINOR; }

#endif
