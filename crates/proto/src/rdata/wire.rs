//! Wire-format rdata checks (being written).
use crate::error::Result;
use crate::types::Rtype;
pub(super) fn validate(_rtype: Rtype, _rdata: &[u8]) -> Result<()> {
    Ok(())
}
pub(super) fn from_message(_rtype: Rtype, msg: &[u8], pos: usize, rdlen: usize) -> Result<Vec<u8>> {
    Ok(msg[pos..pos + rdlen].to_vec())
}
