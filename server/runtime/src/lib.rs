//! Running a playbook: a CPython child started isolated, the `riposte` SDK talking to the host
//! over a private bridge, every integration request signed and sent by the host (credentials never
//! enter the Python process), limits, and the run record.

pub mod http;
