// Real Rust symbols for the demangling tests, taken from a program built by
// rustc 1.95 (legacy mangling, and -C symbol-mangling-version=v0), so the
// suite needs no Rust toolchain. Expected text comes from c++filt at test
// time.

#ifndef HEAPWATCH_TESTS_UNIT_RUST_SYMBOLS_H_
#define HEAPWATCH_TESTS_UNIT_RUST_SYMBOLS_H_

namespace heapwatch::test_support {

// "_ZN" <length-prefixed identifiers> "17h" <16 hex digits> "E"; the last
// one is a trait impl written by hand to the same grammar ($LT$ is '<',
// $u20$ ' ', '..' '::').
inline constexpr const char* kRustLegacySymbols[] = {
    "_ZN1r13Wrap$LT$T$GT$4show17hd358e8a3b41455aeE",
    "_ZN1r4main17h086b0cfd890a8ea9E",
    "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17ha86af84d9cc65291E",
    "_ZN47_$LT$r..Wrap$LT$u32$GT$$u20$as$u20$r..Speak$GT$5speak17h0123456789abcdefE",
};

// "_R" symbols: closures, shims, inherent and trait impls, dyn, fn pointers,
// const generics, higher-ranked lifetimes, back-references, ".0" suffixes.
// Several have a 'u' before a digit inside a crate disambiguator
// ("CslNYArtu3iFV_5alloc"), which is not a punycode identifier.
inline constexpr const char* kRustV0Symbols[] = {
    "_RNvCs6GmmlP4bgsG_1r4main",
    "_RNCNvCs6GmmlP4bgsG_1r4main0B3_",
    "_RNvMCs6GmmlP4bgsG_1rINtB2_4WrapmE4showB2_",
    "_RNvXsh_NtCsgEmfK2I1SDS_4core3fmteNtB5_5Debug3fmt",
    "_RNvXs1g_NtCsgEmfK2I1SDS_4core3fmtRDNtB6_5DebugEL_Bx_3fmtB8_",
    "_RNvXs1h_NtCsgEmfK2I1SDS_4core3fmtQShNtB6_5Debug3fmtCsgY6Mt91CT9J_14rustc_demangle",
    "_RNvYFEuINtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceuE9call_onceCs6GmmlP4bgsG_1r",
    "_RNSNvYNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceuE9call_once6vtableCs6GmmlP4bgsG_1r",
    "_RINvMs2_NtCsgEmfK2I1SDS_4core3fmtNtB6_9Arguments3newKj2_Kj1_ECs6GmmlP4bgsG_1r",
    "_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc5boxed3BoxDG0_INtNtNtB4_3ops8function2FnTRL1_INtNtCsjrHSEGnQ3l9_3std5panic13PanicHookInfoL0_EEEp6OutputuNtNtB4_6marker4SyncNtB2N_4SendEL_EEB1T_",
    "_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecTOhFUKCBN_EuENtNtCsjrHSEGnQ3l9_3std5alloc6SystemE8grow_oneB13_",
    "_RNCNCNCNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal00s_0B9_",
    "_RNvNtNtCsjrHSEGnQ3l9_3std6thread11main_thread4MAIN.0",
};

// fn größe in crate r: a punycode identifier ("u9gre_6ka8i"), which
// libiberty decodes into a malloc'd buffer, so it stays mangled.
inline constexpr const char* kRustV0PunycodeSymbol = "_RNvCs6GmmlP4bgsG_1ru9gre_6ka8i";

}  // namespace heapwatch::test_support

#endif  // HEAPWATCH_TESTS_UNIT_RUST_SYMBOLS_H_
