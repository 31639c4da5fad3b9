//! nfdoctor: read, write, diagnose and repair Linux netfilter rules, natively.
