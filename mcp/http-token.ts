// Where the HTTP transport's bearer token comes from: an environment variable, never a flag
// (command lines leak through /proc/PID/cmdline, shell history and audit logs).
export const TOKEN_ENV = 'INGERO_MCP_TOKEN';
