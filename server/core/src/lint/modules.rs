//! What the import and call rules know about Python modules: which reach the network, which run
//! code or processes, and what a playbook should use instead of a third-party package.

/// Modules (and their submodules) that open connections themselves (RP009).
pub const NETWORK_MODULES: &[&str] = &[
    "socket",
    "ssl",
    "urllib.request",
    "http.client",
    "http.server",
    "ftplib",
    "smtplib",
    "poplib",
    "imaplib",
    "nntplib",
    "telnetlib",
    "xmlrpc.client",
    "xmlrpc.server",
    "socketserver",
    "asyncio.streams",
    "webbrowser",
];

/// Call targets that open connections although their module is harmless (RP009).
pub const NETWORK_CALLS: &[&str] = &[
    "asyncio.open_connection",
    "asyncio.start_server",
    "asyncio.create_connection",
];

/// Modules whose import alone gives a playbook code execution, processes or raw memory (RP010).
pub const DANGEROUS_MODULES: &[&str] = &[
    "subprocess",
    "ctypes",
    "importlib",
    "marshal",
    "pty",
    "multiprocessing",
    "cffi",
];

/// Call targets that execute code, start processes or deserialise objects (RP010).
pub const DANGEROUS_CALLS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "__import__",
    "os.system",
    "os.popen",
    "os.fork",
    "os.forkpty",
    "os.execl",
    "os.execle",
    "os.execlp",
    "os.execlpe",
    "os.execv",
    "os.execve",
    "os.execvp",
    "os.execvpe",
    "os.spawnl",
    "os.spawnle",
    "os.spawnlp",
    "os.spawnlpe",
    "os.spawnv",
    "os.spawnve",
    "os.spawnvp",
    "os.spawnvpe",
    "os.posix_spawn",
    "os.posix_spawnp",
    "os.kill",
    "pickle.loads",
    "pickle.load",
    "pickle.Unpickler",
    "shelve.open",
];

/// Whether `qualified` is `module` or inside it (`urllib.request.urlopen` is in `urllib.request`).
pub fn is_within(qualified: &str, module: &str) -> bool {
    qualified == module
        || qualified
            .strip_prefix(module)
            .is_some_and(|rest| rest.starts_with('.'))
}

pub fn network_module(qualified: &str) -> Option<&'static str> {
    NETWORK_MODULES
        .iter()
        .copied()
        .find(|m| is_within(qualified, m))
}

pub fn dangerous_module(qualified: &str) -> Option<&'static str> {
    DANGEROUS_MODULES
        .iter()
        .copied()
        .find(|m| is_within(qualified, m))
}

pub fn is_dangerous_call(qualified: &str) -> bool {
    DANGEROUS_CALLS.contains(&qualified) || dangerous_module(qualified).is_some()
}

/// What to use instead of a third-party package, for RP003's message.
pub fn replacement_for(top_level: &str) -> &'static str {
    match top_level {
        "requests" | "httpx" | "urllib3" | "aiohttp" | "httplib2" | "pycurl" => {
            "call the API through an integration profile: `client = ctx.integration(\"Name\")` then `client.get(path)`"
        }
        "msal" | "azure" | "adal" => {
            "use an integration profile with `auth.method = \"oauth2_client_credentials\"`: the host gets and refreshes the token"
        }
        "boto3" | "botocore" | "aiobotocore" => {
            "use an integration profile with `auth.method = \"aws_sigv4\"` and call the AWS API through `ctx.integration(\"Name\")`"
        }
        "jwt" | "jose" | "oauthlib" | "requests_oauthlib" | "authlib" => {
            "let the integration profile's auth method handle tokens; the playbook never sees credentials"
        }
        "slack_sdk" | "jira" | "pysnow" | "vt" | "msgraph" | "atlassian" => {
            "call the service's HTTP API through an integration profile (`ctx.integration(\"Name\")`)"
        }
        "dateutil" | "pytz" | "arrow" | "pendulum" => {
            "use `datetime` and `zoneinfo` from the standard library"
        }
        "yaml" | "toml" => "use `json` or `tomllib` from the standard library",
        "pandas" | "numpy" => "use `csv`, `statistics` and plain lists and dicts",
        _ => {
            "use the standard library, or an integration profile for anything that calls a service"
        }
    }
}
