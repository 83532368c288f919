//! TEMPORARY STUB
use std::ffi::OsString;
use crate::item::{Format, Item};
pub struct Schema<'a> { pub format: Format, pub headers: Option<&'a [String]>, pub colsep: bool }
#[derive(Debug, Clone)]
pub struct Template { words: Vec<OsString> }
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec { pub program: OsString, pub args: Vec<OsString>, pub shell: bool }
#[derive(Debug, thiserror::Error)]
pub enum TemplateError { #[error("empty")] Empty }
impl Template {
    pub fn parse(words: &[OsString], _force_shell: bool, _schema: &Schema) -> Result<Template, TemplateError> { if words.is_empty() { return Err(TemplateError::Empty) } Ok(Template { words: words.to_vec() }) }
    pub fn render(&self, item: &Item, _slot: usize) -> Result<CommandSpec, String> {
        use std::os::unix::ffi::OsStringExt;
        let mut args: Vec<OsString> = self.words[1..].to_vec(); args.push(OsString::from_vec(item.raw.clone()));
        Ok(CommandSpec { program: self.words[0].clone(), args, shell: false }) }
    pub fn is_shell(&self) -> bool { false }
    pub fn source(&self) -> String { String::new() }
    pub fn uses_slot(&self) -> bool { false }
}
impl CommandSpec { pub fn display(&self) -> String { let mut s = self.program.to_string_lossy().into_owned(); for a in &self.args { s.push(' '); s.push_str(&a.to_string_lossy()); } s } }
