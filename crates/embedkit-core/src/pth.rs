//! PyTorch checkpoints (`torch.save(model.state_dict())`: `.pth`, `.pt`, `pytorch_model.bin`)
//! read without Python, in both formats torch writes:
//!
//! * **zip** (torch ≥ 1.6): `<name>/data.pkl` holds the pickled dict, `<name>/data/<key>`
//!   the raw little-endian bytes of each storage (stored uncompressed);
//! * **legacy** (older torch, e.g. torchvision's original MobileNetV2 file): five pickles in a
//!   row (magic number, protocol version, system info, the dict, the storage keys), then
//!   each storage as an `i64` element count followed by its bytes.
//!
//! [`Checkpoint::parse`] reads only the pickled structure and where each storage's bytes lie
//! in the file, so a caller reads each tensor in the precision it keeps (text models read
//! bf16 tensors as bf16, never through an f32 copy of the file) or widens all of them
//! (image models, [`Checkpoint::read_f32`]).
//!
//! Pickle is a program, not data: a general unpickler can be made to call any Python
//! function. This one is an interpreter for the opcodes `torch.save` emits that knows exactly
//! four globals (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
//! `torch._utils._rebuild_parameter` and the `torch.*Storage` types) and refuses everything
//! else, so a checkpoint can only ever produce containers, numbers, strings and tensors.
//! Written here because no Rust crate reads the legacy format, and the zip reader of the
//! crates that do read the newer one (candle) comes with a whole tensor library.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

/// A checkpoint that cannot be read: damaged, truncated, or holding more than tensors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self(message.to_string())
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Element type of a storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `float32`.
    F32,
    /// `float64`.
    F64,
    /// `float16`.
    F16,
    /// `bfloat16`.
    BF16,
    /// An integer or boolean storage of elements this many bytes wide (e.g.
    /// `num_batches_tracked`): never a weight.
    Other(usize),
}

impl Dtype {
    fn from_storage_name(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::Other(8),
            "IntStorage" => Self::Other(4),
            "ShortStorage" => Self::Other(2),
            "CharStorage" | "ByteStorage" | "BoolStorage" => Self::Other(1),
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
            Self::F16 | Self::BF16 => 2,
            Self::Other(n) => n,
        }
    }

    /// Whether this is a floating-point type (the only tensors readers return).
    pub fn is_float(self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// Element `i` of little-endian `raw` widened to `f32` (`None` for [`Dtype::Other`]).
    pub fn read_f32(self, raw: &[u8], i: usize) -> Option<f32> {
        let b = raw.get(i * self.size()..(i + 1) * self.size())?;
        Some(match self {
            Self::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            Self::F64 => f64::from_le_bytes(b.try_into().ok()?) as f32,
            Self::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
            Self::BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
            Self::Other(_) => return None,
        })
    }
}

/// Which of torch's two layouts a checkpoint has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// torch ≥ 1.6's zip archive.
    Zip,
    /// The pre-1.6 sequence of pickles followed by the storages.
    Legacy,
}

impl Format {
    /// `zip` or `legacy`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Zip => "zip",
            Self::Legacy => "legacy",
        }
    }
}

/// Where a storage's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// `len` bytes at byte `start` of the checkpoint file (the usual case: torch stores zip
    /// entries uncompressed, and the legacy format writes them raw).
    InFile {
        /// Offset in the file.
        start: u64,
        /// Length in bytes.
        len: u64,
    },
    /// A compressed zip entry, inflated while parsing.
    Inflated(Vec<u8>),
}

impl Storage {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::InFile { len, .. } => *len,
            Self::Inflated(bytes) => bytes.len() as u64,
        }
    }

    /// Whether the storage holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One tensor of the state dict: a view (offset, shape, strides, in elements) of a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Key in the state dict.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Element step of each dimension.
    pub stride: Vec<usize>,
    /// First element in the storage.
    pub offset: usize,
    storage: String,
}

impl Record {
    /// Number of elements (`None` if it overflows).
    pub fn numel(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// Whether the elements lie in row-major order, one after another, in the storage.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.stride).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// The span of elements `[first, last + 1)` of the storage this view reads, checked
    /// against a storage of `elements` elements.
    pub fn element_span(&self, elements: usize) -> Result<(usize, usize)> {
        let numel = self
            .numel()
            .ok_or_else(|| format!("{}: shape too large", self.name))?;
        if numel == 0 {
            return Ok((self.offset, self.offset));
        }
        // A view with more elements than its storage repeats elements (a stride of 0): no
        // weight is saved so, and a damaged shape must not size an allocation.
        if numel > elements {
            return Err(format!("{}: more elements than its storage", self.name).into());
        }
        let last = self
            .shape
            .iter()
            .zip(&self.stride)
            .try_fold(self.offset, |acc, (&d, &s)| {
                (d - 1).checked_mul(s).and_then(|x| acc.checked_add(x))
            })
            .ok_or_else(|| format!("{}: strides too large", self.name))?;
        if last >= elements {
            return Err(format!("{}: tensor reaches past its storage", self.name).into());
        }
        Ok((self.offset, last + 1))
    }

    /// The tensor's elements in row-major order, as little-endian bytes, from `raw`: the
    /// storage's elements from the first one of [`Record::element_span`] on.
    pub fn gather(&self, raw: &[u8]) -> Result<Vec<u8>> {
        let size = self.dtype.size();
        let numel = self
            .numel()
            .ok_or_else(|| format!("{}: shape too large", self.name))?;
        let mut out = Vec::with_capacity(numel.saturating_mul(size));
        let mut index = vec![0usize; self.shape.len()];
        for _ in 0..numel {
            let at: usize = index.iter().zip(&self.stride).map(|(i, s)| i * s).sum();
            let bytes = raw
                .get(at * size..(at + 1) * size)
                .ok_or_else(|| format!("{}: tensor reaches past its storage", self.name))?;
            out.extend_from_slice(bytes);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < self.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(out)
    }
}

/// A tensor widened to `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct F32Tensor {
    /// Key in the state dict.
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f32>,
}

/// A parsed checkpoint: its tensors and where their storages lie.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// zip or legacy.
    pub format: Format,
    /// Every tensor of the state dict, floating-point or not, in the file's order.
    pub tensors: Vec<Record>,
    storages: HashMap<String, Storage>,
}

/// Whether `bytes` start like a PyTorch checkpoint: a zip, or the legacy format's first
/// pickle (protocol 2, then the 10-byte magic number). A safetensors file starts with its
/// header length, whose first byte can be anything, so a lone 0x80 proves nothing.
pub fn is_checkpoint(bytes: &[u8]) -> bool {
    bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(LEGACY_MAGIC)
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

/// Error text of a pickle cut short: the legacy reader then reads a longer prefix.
const ENDS_EARLY: &str = "pickle ends early";

impl Checkpoint {
    /// Parses the checkpoint `file` holds (its bytes from offset 0): the pickled dict and
    /// the location of every storage, without reading the storages themselves.
    pub fn parse<R: Read + Seek>(mut file: R) -> Result<Self> {
        let mut head = [0u8; 4];
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let n = read_up_to(&mut file, &mut head)?;
        if head[..n] == *ZIP_MAGIC {
            parse_zip(file)
        } else {
            parse_legacy(file)
        }
    }

    /// The storage a tensor views.
    pub fn storage(&self, record: &Record) -> Result<&Storage> {
        self.storages
            .get(&record.storage)
            .ok_or_else(|| format!("{}: storage {} is missing", record.name, record.storage).into())
    }

    /// Every floating-point tensor widened to `f32` (row-major), reading storages from
    /// `bytes`, the whole checkpoint file.
    pub fn read_f32(&self, bytes: &[u8]) -> Result<Vec<F32Tensor>> {
        let mut out = Vec::new();
        for record in self.tensors.iter().filter(|r| r.dtype.is_float()) {
            let raw: &[u8] = match self.storage(record)? {
                Storage::InFile { start, len } => usize::try_from(*start)
                    .ok()
                    .zip(usize::try_from(*len).ok())
                    .and_then(|(s, l)| bytes.get(s..s.checked_add(l)?))
                    .ok_or("file ends inside the storages (truncated download?)")?,
                Storage::Inflated(b) => b,
            };
            let size = record.dtype.size();
            let (first, _) = record.element_span(raw.len() / size)?;
            let data = record.gather(&raw[first * size..])?;
            let values = (0..data.len() / size)
                .filter_map(|i| record.dtype.read_f32(&data, i))
                .collect();
            out.push(F32Tensor {
                name: record.name.clone(),
                shape: record.shape.clone(),
                data: values,
            });
        }
        Ok(out)
    }
}

fn io(e: std::io::Error) -> Error {
    Error(format!("read: {e}"))
}

fn read_up_to<R: Read>(file: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]).map_err(io)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn parse_zip<R: Read + Seek>(mut file: R) -> Result<Checkpoint> {
    let size = file.seek(SeekFrom::End(0)).map_err(io)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("zip: {e}"))?;
    let pkl = zip
        .file_names()
        .find(|n| *n == "data.pkl" || n.ends_with("/data.pkl"))
        .ok_or("zip checkpoint without data.pkl")?
        .to_string();
    let prefix = pkl[..pkl.len() - "data.pkl".len()].to_string();
    if let Ok(mut order) = zip.by_name(&format!("{prefix}byteorder")) {
        let mut text = String::new();
        // Absent in files of torch < 1.13; big-endian data would read as garbage.
        if order.read_to_string(&mut text).is_ok() && text.trim() == "big" {
            return Err("big-endian checkpoint: only little-endian data is read".into());
        }
    }
    let program = read_entry(&mut zip, &pkl)?;
    let (root, _) = Unpickler::new(&program).run()?;
    let tensors = state_dict_entries(root)?;
    let mut storages = HashMap::new();
    for record in &tensors {
        if storages.contains_key(&record.storage) {
            continue;
        }
        let name = format!("{prefix}data/{}", record.storage);
        let entry = zip
            .by_name(&name)
            .map_err(|e| format!("zip entry {name}: {e}"))?;
        let storage = if entry.compression() == zip::CompressionMethod::Stored {
            if entry
                .data_start()
                .checked_add(entry.size())
                .is_none_or(|end| end > size)
            {
                return Err(
                    format!("zip entry {name} ends past the file (truncated download?)").into(),
                );
            }
            Storage::InFile {
                start: entry.data_start(),
                len: entry.size(),
            }
        } else {
            drop(entry);
            Storage::Inflated(read_entry(&mut zip, &name)?)
        };
        storages.insert(record.storage.clone(), storage);
    }
    Ok(Checkpoint {
        format: Format::Zip,
        tensors,
        storages,
    })
}

fn read_entry<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Result<Vec<u8>> {
    let mut file = zip
        .by_name(name)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    let mut out = Vec::with_capacity(file.size().min(1 << 30) as usize);
    file.read_to_end(&mut out)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    Ok(out)
}

fn parse_legacy<R: Read + Seek>(mut file: R) -> Result<Checkpoint> {
    let size = file.seek(SeekFrom::End(0)).map_err(io)?;
    // The pickles come first and are small next to the storages: read a prefix, and a
    // longer one while a pickle is cut short by its end.
    let mut want: u64 = 1 << 20;
    loop {
        let len = want.min(size);
        let mut prefix = vec![0u8; len as usize];
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.read_exact(&mut prefix).map_err(io)?;
        match parse_legacy_pickles(&prefix) {
            Err(e) if e.0.ends_with(ENDS_EARLY) && len < size => want = want.saturating_mul(4),
            Err(e) => return Err(e),
            Ok((tensors, keys, pos)) => return legacy_storages(file, size, tensors, keys, pos),
        }
    }
}

/// The dict's tensors, the storage keys in file order, and where the storages begin.
fn parse_legacy_pickles(bytes: &[u8]) -> Result<(Vec<Record>, Vec<String>, u64)> {
    const MAGIC: i64 = 0x1950a86a20f9469cfc6c_i128 as i64;
    let mut pos = 0;
    let mut next = |what: &str| -> Result<Value> {
        let (v, used) = Unpickler::new(&bytes[pos..])
            .run()
            .map_err(|e| format!("{what}: {e}"))?;
        pos += used;
        Ok(v)
    };
    match next("magic number")? {
        Value::Int(m) if m == MAGIC => {}
        _ => return Err("not a PyTorch checkpoint (no magic number)".into()),
    }
    next("protocol version")?;
    next("system info")?;
    let root = next("state dict")?;
    let Value::List(keys) = next("storage keys")? else {
        return Err("storage key list is not a list".into());
    };
    let keys = keys
        .into_iter()
        .map(|k| match k {
            Value::Str(k) => Ok(k),
            _ => Err(Error::from("storage key is not a string")),
        })
        .collect::<Result<_>>()?;
    Ok((state_dict_entries(root)?, keys, pos as u64))
}

fn legacy_storages<R: Read + Seek>(
    mut file: R,
    size: u64,
    tensors: Vec<Record>,
    keys: Vec<String>,
    mut pos: u64,
) -> Result<Checkpoint> {
    const TRUNCATED: &str = "file ends inside the storages (truncated download?)";
    let dtypes: HashMap<&str, Dtype> = tensors
        .iter()
        .map(|t| (t.storage.as_str(), t.dtype))
        .collect();
    let mut storages = HashMap::new();
    for key in keys {
        let mut count = [0u8; 8];
        file.seek(SeekFrom::Start(pos)).map_err(io)?;
        file.read_exact(&mut count).map_err(|_| TRUNCATED)?;
        let elem = dtypes.get(key.as_str()).map_or(4, |d| d.size()) as u64;
        let len = u64::try_from(i64::from_le_bytes(count))
            .ok()
            .and_then(|c| c.checked_mul(elem))
            .ok_or("bad storage length")?;
        let start = pos + 8;
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(TRUNCATED.into());
        }
        pos = start + len;
        storages.insert(key, Storage::InFile { start, len });
    }
    Ok(Checkpoint {
        format: Format::Legacy,
        tensors,
        storages,
    })
}

/// The only callables a checkpoint may name.
#[derive(Debug, Clone, PartialEq)]
enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildParameter,
    Storage(Dtype),
}

#[derive(Debug, Clone)]
struct StorageRef {
    key: String,
    dtype: Dtype,
}

#[derive(Debug, Clone)]
struct TensorRef {
    storage: StorageRef,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

// Every value a pickle can push is parsed to keep the stack right; only tensors, strings and
// containers are read afterwards.
#[allow(dead_code)]
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorRef),
}

/// The tensors of a loaded dict: the top level, or a `state_dict` / `model` entry of a
/// training checkpoint.
fn state_dict_entries(root: Value) -> Result<Vec<Record>> {
    let Value::Dict(items) = root else {
        return Err("the checkpoint does not hold a dict of tensors".into());
    };
    if !items.iter().any(|(_, v)| matches!(v, Value::Tensor(_))) {
        for (k, v) in items {
            if let (Value::Str(k), Value::Dict(_)) = (&k, &v) {
                if k == "state_dict" || k == "model" {
                    return state_dict_entries(v);
                }
            }
        }
        return Err("the checkpoint holds no tensors".into());
    }
    Ok(items
        .into_iter()
        .filter_map(|(k, v)| match (k, v) {
            (Value::Str(name), Value::Tensor(t)) => Some(Record {
                name,
                dtype: t.storage.dtype,
                shape: t.shape,
                stride: t.stride,
                offset: t.offset,
                storage: t.storage.key,
            }),
            _ => None,
        })
        .collect())
}

/// The pickle virtual machine, restricted as described in the module comment.
struct Unpickler<'a> {
    code: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(code: &'a [u8]) -> Self {
        Self {
            code,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.code.get(self.pos..end).ok_or(ENDS_EARLY)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().expect("4")))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.code[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or(ENDS_EARLY)?;
        self.pos += end + 1;
        String::from_utf8(rest[..end].to_vec()).map_err(|_| "bad global name".to_string())
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".into())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self.marks.pop().ok_or("pickle mark missing")?;
        if mark > self.stack.len() {
            return Err("pickle mark beyond the stack".into());
        }
        Ok(self.stack.split_off(mark))
    }

    fn top(&mut self) -> Result<&mut Value, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| "pickle stack underflow".into())
    }

    /// Runs to `STOP`; returns the result and the number of bytes read.
    fn run(mut self) -> Result<(Value, usize), String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.bytes(8)?; // FRAME: a length hint
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok((v, self.pos));
                }
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err("pickle stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Dict(pairs(items)?));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top()? {
                        Value::List(l) => l.push(v),
                        _ => return Err("APPEND to a non-list".into()),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err("APPENDS to a non-list".into()),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err("SETITEM on a non-dict".into()),
                    }
                }
                b'u' => {
                    let items = pairs(self.pop_mark()?)?;
                    match self.top()? {
                        Value::Dict(d) => d.extend(items),
                        _ => return Err("SETITEMS on a non-dict".into()),
                    }
                }
                b'q' => {
                    let i = self.u8()? as u32;
                    self.memoize(i)?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memoize(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memoize(i)?;
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        self.u8()? as u32
                    } else {
                        self.u32()?
                    };
                    let v = self.memo.get(&i).ok_or("pickle memo miss")?.clone();
                    self.stack.push(v);
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.bytes(4)?.try_into().expect("4"));
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.bytes(2)?.try_into().expect("2"));
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.bytes(n)?;
                    // Little-endian two's complement; wider than i64 keeps the low 64 bits
                    // (only the legacy magic number is that wide).
                    let mut v: i128 = 0;
                    for (i, &byte) in b.iter().enumerate().take(16) {
                        v |= (byte as i128) << (8 * i);
                    }
                    if n > 0 && n < 16 && b[n - 1] & 0x80 != 0 {
                        v -= 1i128 << (8 * n);
                    }
                    self.stack.push(Value::Int(v as i64));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.bytes(8)?.try_into().expect("8"));
                    self.stack.push(Value::Float(v));
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'X' | 0x8c | 0x8d | b'U' | b'T' => {
                    let n = match op {
                        0x8c | b'U' => self.u8()? as usize,
                        0x8d => u64::from_le_bytes(self.bytes(8)?.try_into().expect("8")) as usize,
                        _ => self.u32()? as usize,
                    };
                    let s = String::from_utf8_lossy(self.bytes(n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                b'C' | b'B' => {
                    let n = if op == b'C' {
                        self.u8()? as usize
                    } else {
                        self.u32()? as usize
                    };
                    let b = self.bytes(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(global(&module, &name)?));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(global(&m, &n)?))
                        }
                        _ => return Err("STACK_GLOBAL without names".into()),
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(persistent_load(pid)?);
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.stack.push(call(callable, args)?);
                }
                b'b' => {
                    // BUILD sets attributes (an OrderedDict's `_metadata`): not needed.
                    self.pop()?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                _ => return Err(format!("unsupported pickle opcode 0x{op:02x}")),
            }
        }
    }

    fn memoize(&mut self, index: u32) -> Result<(), String> {
        let v = self.top()?.clone();
        self.memo.insert(index, v);
        Ok(())
    }
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of dict items".into());
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

fn global(module: &str, name: &str) -> Result<Global, String> {
    match (module, name) {
        ("collections", "OrderedDict") => Ok(Global::OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2") => Ok(Global::RebuildTensor),
        ("torch._utils", "_rebuild_parameter") => Ok(Global::RebuildParameter),
        ("torch", s) => Dtype::from_storage_name(s)
            .map(Global::Storage)
            .ok_or_else(|| format!("refusing to load torch.{s}: only tensors are read")),
        _ => Err(format!(
            "refusing to load {module}.{name}: a checkpoint may only hold tensors"
        )),
    }
}

/// `('storage', StorageType, key, location, numel[, view metadata])`.
fn persistent_load(pid: Value) -> Result<Value, String> {
    let Value::Tuple(items) = pid else {
        return Err("persistent id is not a tuple".into());
    };
    match items.as_slice() {
        [Value::Str(tag), Value::Global(Global::Storage(dtype)), Value::Str(key), ..]
            if tag == "storage" =>
        {
            Ok(Value::Storage(StorageRef {
                key: key.clone(),
                dtype: *dtype,
            }))
        }
        _ => Err("unsupported persistent id".into()),
    }
}

fn usize_list(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Tuple(items) | Value::List(items) => items
            .iter()
            .map(|x| match x {
                Value::Int(i) => usize::try_from(*i).ok(),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn call(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Tuple(args) = args else {
        return Err("call arguments are not a tuple".into());
    };
    match callable {
        Value::Global(Global::OrderedDict) => Ok(Value::Dict(Vec::new())),
        Value::Global(Global::RebuildTensor) => match args.as_slice() {
            [Value::Storage(s), Value::Int(offset), size, stride, ..] => {
                let shape = usize_list(size).ok_or("bad tensor size")?;
                let stride = usize_list(stride).ok_or("bad tensor stride")?;
                if shape.len() != stride.len() {
                    return Err("tensor size and stride differ in length".into());
                }
                Ok(Value::Tensor(TensorRef {
                    storage: s.clone(),
                    offset: usize::try_from(*offset).map_err(|_| "bad tensor offset")?,
                    shape,
                    stride,
                }))
            }
            _ => Err("bad _rebuild_tensor_v2 arguments".into()),
        },
        Value::Global(Global::RebuildParameter) => match args.into_iter().next() {
            Some(t @ Value::Tensor(_)) => Ok(t),
            _ => Err("bad _rebuild_parameter arguments".into()),
        },
        _ => Err("the checkpoint calls something that is not a tensor constructor".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn refuses_code_execution() {
        // pickle.dumps of os.system('echo hi') at protocol 2.
        let evil = b"\x80\x02cposix\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03.";
        let err = Unpickler::new(evil).run().unwrap_err();
        assert!(err.contains("refusing to load posix.system"), "{err}");
        let err = Checkpoint::parse(Cursor::new(&evil[..])).unwrap_err();
        assert!(err.to_string().contains("refusing"), "{err}");
    }

    #[test]
    fn reads_containers_and_numbers() {
        // pickle.dumps({'a': [1, -2, 300, 70000, 1.5, None, True], 'b': (2**40, 'x')}, 2)
        let code = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffM,\x01Jp\x11\x01\x00G?\xf8\x00\x00\x00\x00\x00\x00N\x88eX\x01\x00\x00\x00bq\x03\x8a\x06\x00\x00\x00\x00\x00\x01X\x01\x00\x00\x00xq\x04\x86q\x05u.";
        let (v, used) = Unpickler::new(code).run().unwrap();
        assert_eq!(used, code.len());
        let Value::Dict(items) = v else { panic!() };
        let Value::List(a) = &items[0].1 else {
            panic!()
        };
        let ints: Vec<_> = a
            .iter()
            .map(|v| match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                Value::None => -1e9,
                Value::Bool(b) => *b as i64 as f64,
                _ => panic!(),
            })
            .collect();
        assert_eq!(ints, vec![1.0, -2.0, 300.0, 70000.0, 1.5, -1e9, 1.0]);
        let Value::Tuple(b) = &items[1].1 else {
            panic!()
        };
        assert!(matches!(b[0], Value::Int(v) if v == 1 << 40));
    }

    #[test]
    fn truncated_input_is_an_error() {
        for bytes in [
            &b"\x80\x02}q\x00(X\x05\x00\x00"[..],
            b"PK\x03\x04garbage",
            b"",
        ] {
            assert!(Checkpoint::parse(Cursor::new(bytes)).is_err());
        }
    }
}
