//! Cryptographic building blocks: randomness from the OS and password-grade hashing of client
//! secrets. May import: `error`.

pub mod aead;
pub mod hasher;
pub mod random;
