/**
 * What an API object id (a thread, run or step id) looks like, as every entry point checks it: the
 * CLI's flags and threads files, and the sidecar's registration endpoint. An id goes into a URL
 * path; `thread/x` or `..` must be refused where it is given, not sent.
 */
export const API_OBJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;
