//! The deploy target behind `riposte serve`: the store (SQLite or PostgreSQL), playbook versions
//! and activation, automation rules, alert intake, the run queue and its workers, the activity
//! log, and the HTTP API and console over them.
