//! Presentation-format rdata (being written).
use super::Token;
use crate::error::{syntax, Result};
use crate::name::Name;
use crate::types::Rtype;
pub(super) fn parse(_rtype: Rtype, _tokens: &[Token<'_>], _origin: &Name) -> Result<Vec<u8>> {
    Err(syntax("not yet"))
}
pub(super) fn format(_rtype: Rtype, rdata: &[u8]) -> String {
    format!("\\# {}", rdata.len())
}
