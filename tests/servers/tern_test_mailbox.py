# SPDX-License-Identifier: GPL-3.0-or-later
"""Deterministic, realistic messages for Tern's tests, written as Maildir files.

Message number i of a given seed is always the same bytes, so a test can
search for what it knows is there.  Among the messages: plain text, HTML
only, text with an HTML alternative, attachments (some with non-ASCII file
names), non-ASCII subjects and names in RFC 2047 encoded words, and
threads tied together with In-Reply-To and References.

Each message carries its number in "X-Tern-Load: seed=S index=I" and its
Message-ID is <tern-load-S-I@tern.test>.
"""

import base64
import binascii
import functools
import os
import random
import time

DOMAIN = 'tern.test'

PEOPLE = [
    ('Alice Liddell', 'alice@tern.test'),
    ('Bob Builder', 'bob@tern.test'),
    ('Carol Singer', 'carol@tern.test'),
    ('Dave Diver', 'dave@tern.test'),
    ('Zo\u00eb M\u00fcller', 'zoe.mueller@example.de'),
    ('Jos\u00e9 N\u00fa\u00f1ez', 'jose@example.es'),
    ('\u7530\u4e2d \u592a\u90ce', 'tanaka@example.jp'),
    ('\u00c5sa \u00d6berg', 'asa.oberg@example.se'),
    ('\u041e\u043b\u044c\u0433\u0430 \u041f\u0435\u0442\u0440\u043e\u0432\u0430',
     'olga@example.ru'),
    ('Smith, John', 'john.smith@example.com'),
    ('Priya Raman', 'priya@example.in'),
    ('Fran\u00e7ois Dupr\u00e9', 'francois@example.fr'),
    ('Build Robot', 'ci-noreply@example.org'),
    ('Ola Nordmann', 'ola@example.no'),
    ('Mei Lin', 'mei.lin@example.cn'),
    ('Kwame Mensah', 'kwame@example.gh'),
]

SUBJECTS = [
    'Quarterly report draft',
    'Lunch on Friday?',
    'Build failure on main',
    'Invoice 4471 for October',
    'Meeting notes: roadmap review',
    'Your parcel is on its way',
    'Re-scheduling the dentist appointment',
    'Photos from the weekend',
    'Question about the API rate limits',
    'Minutes of the board meeting',
    'Holiday rota for December',
    'Server maintenance window tonight',
    'Can you review my patch?',
    'Welcome to the team!',
    'Receipt for your order #20931',
    'Gr\u00fc\u00dfe aus M\u00fcnchen',
    'R\u00e9union de l\u2019\u00e9quipe jeudi',
    '\u4f1a\u8b70\u306e\u8b70\u4e8b\u9332',
    '\u041e\u0442\u0447\u0451\u0442 \u0437\u0430 \u043c\u0430\u0440\u0442',
    'Caf\u00e9 \u2615 tomorrow at 10?',
    'Fw: the \u201cfinal\u201d version \u2013 really final',
    '\u00a1Feliz cumplea\u00f1os, Jos\u00e9!',
    'Sm\u00f6rg\u00e5sbord p\u00e5 fredag',
    'A very long subject line that goes on and on so that it needs folding when '
    'it is written into the header of a message, as long ones do',
]

SENTENCES = [
    'Thanks for sending this over so quickly.',
    'I had a look at the numbers and they mostly add up.',
    'Could we move the call to Thursday afternoon instead?',
    'The attached file has the latest figures.',
    'Let me know if anything is unclear.',
    'We still need a decision on the budget before the end of the month.',
    'I think the second option is the safer one.',
    'The build broke again after the last merge; I am looking into it.',
    'Please find my comments inline below.',
    'Sorry for the late reply, I was travelling.',
    'Everything went well, and the customer was happy with the result.',
    'Don\u2019t forget to bring the adapter for the projector.',
    'Die Unterlagen liegen im gemeinsamen Ordner.',
    'Merci beaucoup pour votre aide, c\u2019\u00e9tait tr\u00e8s utile.',
    '\u3088\u308d\u3057\u304f\u304a\u9858\u3044\u3057\u307e\u3059\u3002',
    '\u0421\u043f\u0430\u0441\u0438\u0431\u043e \u0437\u0430 '
    '\u0431\u044b\u0441\u0442\u0440\u044b\u0439 '
    '\u043e\u0442\u0432\u0435\u0442.',
    'Prices went up by 5% since last year (\u20ac 12.50 per unit).',
    'See https://www.example.org/docs/getting-started for the details.',
]

ATTACHMENTS = [
    ('application/pdf', 'report-%d.pdf', b'%PDF-1.4\n'),
    ('image/png', 'photo-%04d.png', b'\x89PNG\r\n\x1a\n'),
    ('image/jpeg', 'IMG_%04d.jpg', b'\xff\xd8\xff\xe0\x00\x10JFIF\x00'),
    ('application/zip', 'archive-%d.zip', b'PK\x03\x04'),
    ('application/pdf', '\u00dcbersicht M\u00e4rz %d.pdf', b'%PDF-1.5\n'),
    ('text/csv', 'data-%d.csv', None),
]

DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
ZONES = [0, 60, 120, -300, -420, 330, 540, 600]

# 2024-01-01T00:00:00Z; message i is a few minutes after message i - 1.
EPOCH = 1704067200

Q_SAFE = set(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/')


def _q_len(data):
    return sum(1 if (b in Q_SAFE or b == 0x20) else 3 for b in data)


def _q_encode(data):
    out = []
    for b in data:
        if b == 0x20:
            out.append('_')
        elif b in Q_SAFE:
            out.append(chr(b))
        else:
            out.append('=%02X' % b)
    return ''.join(out)


@functools.lru_cache(maxsize=512)
def encode_words(text, use_b):
    """RFC 2047 encoded words for a non-ASCII phrase, each at most 75 chars.

    Words are split on character boundaries and folded onto new lines."""
    if text.isascii():
        return text
    words = []
    chunk = ''
    for ch in text:
        data = (chunk + ch).encode('utf-8')
        size = (len(data) + 2) // 3 * 4 if use_b else _q_len(data)
        if chunk and size > 63:
            words.append(chunk)
            chunk = ch
        else:
            chunk += ch
    words.append(chunk)
    encoded = []
    for word in words:
        data = word.encode('utf-8')
        if use_b:
            encoded.append('=?UTF-8?B?%s?=' % base64.b64encode(data).decode('ascii'))
        else:
            encoded.append('=?UTF-8?Q?%s?=' % _q_encode(data))
    return '\n '.join(encoded)


def fold(header):
    """Fold an ASCII header at spaces so that lines stay under 78 chars."""
    if len(header) <= 78:
        return header
    lines = []
    line = ''
    for word in header.split(' '):
        if line and len(line) + 1 + len(word) > 76:
            lines.append(line)
            line = word
        else:
            line = word if not line else line + ' ' + word
    lines.append(line)
    return '\n '.join(lines)


def mailbox(person, use_b):
    name, address = person
    if not name.isascii():
        return '%s <%s>' % (encode_words(name, use_b), address)
    if any(c in name for c in ',.;:@"()<>[]'):
        return '"%s" <%s>' % (name.replace('\\', '\\\\').replace('"', '\\"'), address)
    return '%s <%s>' % (name, address)


def rfc5322_date(timestamp, zone_minutes):
    t = time.gmtime(timestamp + zone_minutes * 60)
    sign = '+' if zone_minutes >= 0 else '-'
    zone = abs(zone_minutes)
    return '%s, %d %s %d %02d:%02d:%02d %s%02d%02d' % (
        DAYS[t.tm_wday], t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec, sign, zone // 60, zone % 60)


def quoted_printable(text):
    return binascii.b2a_qp(text.encode('utf-8')).decode('ascii')


def base64_lines(data):
    return base64.encodebytes(data).decode('ascii')


def text_part(body, rng, subtype='plain'):
    """Headers and body of a text part; 8bit or quoted-printable at random."""
    if body.isascii():
        cte = '7bit'
        payload = body
    elif rng.random() < 0.5:
        cte = '8bit'
        payload = body
    else:
        cte = 'quoted-printable'
        payload = quoted_printable(body)
    return ('Content-Type: text/%s; charset=UTF-8\nContent-Transfer-Encoding: %s\n\n%s'
            % (subtype, cte, payload))


def html_of(paragraphs, token):
    items = ''.join('<p>%s</p>\n' % p.replace('&', '&amp;').replace('<', '&lt;')
                    for p in paragraphs)
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
            '<body style="font-family: sans-serif">\n%s'
            '<p><a href="https://www.example.org/t/%s">Open in the browser</a></p>\n'
            '</body></html>\n' % (items, token))


def attachment_part(rng, index):
    mime, pattern, magic = ATTACHMENTS[rng.randrange(len(ATTACHMENTS))]
    filename = pattern % index
    if magic is None:
        rows = ['date,amount,account']
        for r in range(rng.randrange(5, 60)):
            rows.append('2024-%02d-%02d,%d.%02d,ACC-%04d' % (
                rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(1, 5000),
                rng.randrange(100), rng.randrange(10000)))
        data = ('\r\n'.join(rows) + '\r\n').encode('ascii')
    else:
        data = magic + rng.randbytes(rng.randrange(300, 12000))
    if filename.isascii():
        disposition = 'attachment; filename="%s"' % filename
        name = '; name="%s"' % filename
    else:
        encoded = ''.join(chr(b) if chr(b).isalnum() or chr(b) in '.-_' else '%%%02X' % b
                          for b in filename.encode('utf-8'))
        disposition = "attachment;\n filename*=UTF-8''%s" % encoded
        name = ';\n name="%s"' % encode_words(filename, True)
    return ('Content-Type: %s%s\nContent-Disposition: %s\n'
            'Content-Transfer-Encoding: base64\n\n%s' % (mime, name, disposition,
                                                        base64_lines(data)))


def multipart(subtype, boundary, parts):
    body = ''.join('--%s\n%s\n' % (boundary, part.rstrip('\n') + '\n') for part in parts)
    return ('Content-Type: multipart/%s;\n boundary="%s"\n\n'
            'This is a multi-part message in MIME format.\n\n%s--%s--\n'
            % (subtype, boundary, body, boundary))


class Generator:
    """Message i of a seed: the same bytes however and wherever it is made."""

    MAX_THREAD_DEPTH = 20

    def __init__(self, recipient, seed=1):
        self.recipient = recipient
        self.seed = seed
        # index -> (message-id, references, base subject, depth); only the
        # recent ones are kept, as parents are at most 40 messages back.
        self.skeletons = {}

    def skeleton(self, index):
        """Where message index sits in its thread; a pure function of index.

        A message answers, with some chance, one of the 40 before it; its
        references and subject then follow from that parent's."""
        known = self.skeletons.get(index)
        if known is not None:
            return known
        rng = random.Random((self.seed * 1000003 + index) * 2 + 1)
        parent = None
        if index > 1 and rng.random() < 0.4:
            candidate = self.skeleton(index - rng.randrange(1, min(40, index - 1) + 1))
            if candidate[3] < self.MAX_THREAD_DEPTH:
                parent = candidate
        msgid = '<tern-load-%d-%d@%s>' % (self.seed, index, DOMAIN)
        if parent is not None:
            result = (msgid, (parent[1] + [parent[0]])[-10:], parent[2], parent[3] + 1, parent)
        else:
            subject = SUBJECTS[rng.randrange(len(SUBJECTS))]
            if rng.random() < 0.3:
                subject += ' (%d)' % index
            result = (msgid, [], subject, 0, None)
        self.skeletons[index] = result
        if len(self.skeletons) > 256:
            for old in [i for i in self.skeletons if i < index - 100]:
                del self.skeletons[old]
        return result

    def message(self, index):
        """(bytes, timestamp, maildir flags) of message index."""
        msgid, references, base_subject, _, parent = self.skeleton(index)
        rng = random.Random((self.seed * 1000003 + index) * 2)
        use_b = rng.random() < 0.5
        timestamp = EPOCH + index * 300 + rng.randrange(240)
        zone = ZONES[rng.randrange(len(ZONES))]

        sender = PEOPLE[rng.randrange(len(PEOPLE))]
        if sender[1] == self.recipient:
            sender = PEOPLE[(PEOPLE.index(sender) + 1) % len(PEOPLE)]
        to = (self.recipient.split('@')[0].capitalize(), self.recipient)
        subject = ('Re: ' if parent is not None else '') + base_subject

        token = 'tern-load-%d-%d' % (self.seed, index)
        paragraphs = []
        for _ in range(rng.randrange(1, 6)):
            paragraphs.append(' '.join(SENTENCES[rng.randrange(len(SENTENCES))]
                                       for _ in range(rng.randrange(1, 5))))
        paragraphs.append('Reference: %s' % token)
        plain = 'Hi %s,\n\n%s\n\n-- \n%s\n' % (to[0], '\n\n'.join(paragraphs), sender[0])
        if parent is not None:
            quoted = SENTENCES[rng.randrange(len(SENTENCES))]
            plain += '\n> Earlier in this thread:\n> %s\n' % quoted

        kind = rng.random()
        boundary = '=_tern_%d_%d' % (self.seed, index)
        if kind < 0.55:
            body = text_part(plain, rng)
        elif kind < 0.75:
            body = multipart('alternative', boundary,
                             [text_part(plain, rng), text_part(html_of(paragraphs, token), rng,
                                                               'html')])
        elif kind < 0.83:
            body = text_part(html_of(paragraphs, token), rng, 'html')
        elif kind < 0.95:
            parts = [text_part(plain, rng)]
            for n in range(1 + (rng.random() < 0.25)):
                parts.append(attachment_part(rng, index + n))
            body = multipart('mixed', boundary, parts)
        else:
            alternative = multipart('alternative', boundary + '_alt',
                                    [text_part(plain, rng),
                                     text_part(html_of(paragraphs, token), rng, 'html')])
            body = multipart('mixed', boundary, [alternative, attachment_part(rng, index)])

        headers = [
            'Return-Path: <%s>' % sender[1],
            'Delivered-To: %s' % self.recipient,
            'Received: from mx.example.net (mx.example.net [192.0.2.%d])\n'
            '\tby mail.tern.test with ESMTPS id %08x\n\tfor <%s>; %s'
            % (rng.randrange(1, 255), rng.getrandbits(32), self.recipient,
               rfc5322_date(timestamp + 2, 0)),
            'Date: %s' % rfc5322_date(timestamp, zone),
            'From: %s' % mailbox(sender, use_b),
            'To: %s' % mailbox(to, use_b),
        ]
        if rng.random() < 0.2:
            cc = PEOPLE[rng.randrange(len(PEOPLE))]
            headers.append('Cc: %s' % mailbox(cc, not use_b))
        if subject.isascii():
            headers.append(fold('Subject: %s' % subject))
        else:
            prefix = 'Re: ' if parent is not None else ''
            headers.append('Subject: %s%s' % (prefix, encode_words(base_subject, use_b)))
        headers.append('Message-ID: %s' % msgid)
        if parent is not None:
            headers.append('In-Reply-To: %s' % parent[0])
            headers.append(fold('References: %s' % ' '.join(references)))
        if rng.random() < 0.1:
            headers.append('List-Id: Tern testers <testers.lists.example.org>')
        headers.append('X-Tern-Load: seed=%d index=%d' % (self.seed, index))
        headers.append('MIME-Version: 1.0')
        text = '\n'.join(headers) + '\n' + body
        flags = ''
        if parent is not None and rng.random() < 0.3:
            flags += 'R'
        if rng.random() < 0.6:
            flags += 'S'
        if rng.random() < 0.05:
            flags = 'F' + flags
        return text.encode('utf-8'), timestamp, flags


def write_maildir(path, recipient, count, seed=1, first=1, owner=None):
    """Write count messages into the Maildir folder at path; bytes written.

    Files go to tmp/ and are renamed into cur/ so Dovecot never sees a half
    file.  Names carry S= and W= sizes, so Dovecot need not read them to
    answer RFC822.SIZE.  owner is (uid, gid) for files made as root."""
    for sub in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
        if owner is not None:
            os.chown(os.path.join(path, sub), *owner)
    if owner is not None:
        os.chown(path, *owner)
    tmp = os.path.join(path, 'tmp')
    cur = os.path.join(path, 'cur')
    generator = Generator(recipient, seed)
    nonce = '%dP%d' % (time.time_ns() // 1000, os.getpid())
    total = 0
    for index in range(first, first + count):
        data, timestamp, flags = generator.message(index)
        vsize = len(data) + data.count(b'\n')
        base = '%d.M%sQ%d.tern,S=%d,W=%d' % (timestamp, nonce, index, len(data), vsize)
        tmp_path = os.path.join(tmp, base)
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            if owner is not None:
                os.fchown(fd, *owner)
            os.utime(fd, (timestamp, timestamp))
        finally:
            os.close(fd)
        os.rename(tmp_path, os.path.join(cur, base + ':2,' + flags))
        total += len(data)
    return total
