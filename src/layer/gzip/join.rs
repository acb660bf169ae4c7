//! Joining whole deflate streams into one. libdeflate compresses a buffer
//! into a complete raw deflate stream whose last block is marked final. To
//! let the next block's stream follow it inside the same gzip member,
//! [`continue_stream`] walks the stream's blocks (headers, Huffman tables,
//! symbols: all that tells where a block ends, no output is made), clears
//! the final bit of the last block, and appends an empty stored block after
//! it — what zlib's sync flush writes — so that the stream ends on a byte
//! and the next one starts there.

use std::io;

/// The order in which a dynamic block sends its code length code lengths.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];
/// The longest Huffman code deflate allows.
const MAX_BITS: u32 = 15;

/// Turns `stream`, one complete raw deflate stream, into the start of a
/// longer one: its last block is no longer final and it ends with an empty
/// stored block, on a byte boundary.
pub(crate) fn continue_stream(stream: &mut Vec<u8>) -> io::Result<()> {
    let (last, end) = last_block(stream)
        .map_err(|why| io::Error::other(format!("reading back a deflate block: {why}")))?;
    stream[last / 8] &= !(1 << (last % 8));
    // the bits after the end are padding: clear them, then the 3-bit
    // header of a stored block (000), padding, LEN 0 and NLEN 0xffff
    stream.truncate(end.div_ceil(8));
    if !end.is_multiple_of(8) {
        stream[end / 8] &= (1u8 << (end % 8)) - 1;
    }
    stream.resize((end + 3).div_ceil(8), 0);
    stream.extend_from_slice(&[0, 0, 0xff, 0xff]);
    Ok(())
}

/// The bit positions of the final block's header and of the stream's end.
/// The stream must end in the byte holding its end.
fn last_block(stream: &[u8]) -> Result<(usize, usize), &'static str> {
    let mut bits = Bits {
        data: stream,
        pos: 0,
    };
    loop {
        let header = bits.pos;
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => bits.skip_stored()?,
            1 => symbols(
                &mut bits,
                &Table::fixed_literals(),
                &Table::fixed_distances(),
            )?,
            2 => {
                let (literals, distances) = dynamic_tables(&mut bits)?;
                symbols(&mut bits, &literals, &distances)?;
            }
            _ => return Err("a block of the reserved type 3"),
        }
        if last {
            if bits.pos.div_ceil(8) != stream.len() {
                return Err("bytes after the final block");
            }
            return Ok((header, bits.pos));
        }
    }
}

/// The symbols of a Huffman block, up to its end-of-block code.
fn symbols(bits: &mut Bits, literals: &Table, distances: &Table) -> Result<(), &'static str> {
    loop {
        let symbol = literals.decode(bits)?;
        match symbol {
            0..=255 => {}
            256 => return Ok(()),
            257..=285 => {
                let s = u32::from(symbol - 257);
                bits.take(if s < 8 || s == 28 { 0 } else { (s - 4) / 4 })?;
                let d = u32::from(distances.decode(bits)?);
                if d >= 30 {
                    return Err("a distance code over 29");
                }
                bits.take(if d < 4 { 0 } else { (d - 2) / 2 })?;
            }
            _ => return Err("a length code over 285"),
        }
    }
}

/// A dynamic block's literal/length and distance tables.
fn dynamic_tables(bits: &mut Bits) -> Result<(Table, Table), &'static str> {
    let literals = bits.take(5)? as usize + 257;
    let distances = bits.take(5)? as usize + 1;
    let code_lengths = bits.take(4)? as usize + 4;
    let mut lengths = [0u8; 19];
    for &i in &CODE_LENGTH_ORDER[..code_lengths] {
        lengths[i] = bits.take(3)? as u8;
    }
    let code_length_table = Table::new(&lengths)?;
    let mut all = Vec::with_capacity(literals + distances);
    while all.len() < literals + distances {
        let (value, repeat) = match code_length_table.decode(bits)? {
            n @ 0..=15 => (n as u8, 1),
            16 => {
                let previous = *all.last().ok_or("a repeat with nothing before it")?;
                (previous, 3 + bits.take(2)?)
            }
            17 => (0, 3 + bits.take(3)?),
            _ => (0, 11 + bits.take(7)?),
        };
        if all.len() + repeat as usize > literals + distances {
            return Err("code lengths past the table's end");
        }
        all.extend(std::iter::repeat_n(value, repeat as usize));
    }
    if all[256] == 0 {
        return Err("no end-of-block code");
    }
    let (l, d) = all.split_at(literals);
    Ok((Table::new(l)?, Table::new(d)?))
}

/// A canonical Huffman code as a lookup table indexed by the next `bits`
/// input bits: each entry is `symbol << 4 | length`, 0 for no code.
struct Table {
    entries: Vec<u16>,
    bits: u32,
}

impl Table {
    fn new(lengths: &[u8]) -> Result<Table, &'static str> {
        let bits = u32::from(lengths.iter().copied().max().unwrap_or(0)).max(1);
        let mut count = [0u32; MAX_BITS as usize + 1];
        for &l in lengths {
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut next = [0u32; MAX_BITS as usize + 2];
        let mut code = 0u32;
        for len in 1..=MAX_BITS as usize {
            code = (code + count[len - 1]) << 1;
            next[len] = code;
            if code + count[len] > 1 << len {
                return Err("an over-subscribed Huffman code");
            }
        }
        let mut entries = vec![0u16; 1 << bits];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len = u32::from(len);
            let reversed = next[len as usize].reverse_bits() >> (32 - len);
            next[len as usize] += 1;
            let entry = (symbol as u16) << 4 | len as u16;
            for i in (reversed as usize..1 << bits).step_by(1 << len) {
                entries[i] = entry;
            }
        }
        Ok(Table { entries, bits })
    }

    fn fixed_literals() -> Table {
        let mut lengths = [8u8; 288];
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        Table::new(&lengths).expect("the fixed literal code is complete")
    }

    fn fixed_distances() -> Table {
        Table::new(&[5u8; 30]).expect("the fixed distance code is valid")
    }

    fn decode(&self, bits: &mut Bits) -> Result<u16, &'static str> {
        let entry = self.entries[bits.peek() as usize & ((1 << self.bits) - 1)];
        if entry == 0 {
            return Err("a code the table does not have");
        }
        bits.take(u32::from(entry & 15))?;
        Ok(entry >> 4)
    }
}

/// A reader of bits, least significant first, as deflate packs them.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    /// The next 32 bits or more (zeros past the end).
    fn peek(&self) -> u64 {
        let at = self.pos / 8;
        let mut word = [0u8; 8];
        let have = self.data.len().saturating_sub(at).min(8);
        word[..have].copy_from_slice(&self.data[at..at + have]);
        u64::from_le_bytes(word) >> (self.pos % 8)
    }

    /// Consumes `n` ≤ 32 bits and returns them.
    fn take(&mut self, n: u32) -> Result<u32, &'static str> {
        let value = (self.peek() & ((1u64 << n) - 1)) as u32;
        self.pos += n as usize;
        if self.pos > self.data.len() * 8 {
            return Err("the stream ends inside a block");
        }
        Ok(value)
    }

    /// A stored block's body, after its header bits.
    fn skip_stored(&mut self) -> Result<(), &'static str> {
        self.pos = self.pos.div_ceil(8) * 8;
        let len = self.take(16)?;
        if self.take(16)? != !len & 0xffff {
            return Err("a stored block whose NLEN is not its LEN's complement");
        }
        self.pos += len as usize * 8;
        if self.pos > self.data.len() * 8 {
            return Err("the stream ends inside a stored block");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
