"""Test certificates for TLS listeners: a CA, a server certificate for
localhost/127.0.0.1, client certificates (valid and expired), written as PEM
files (KIP-651 keystores: key and chain in one file) and PKCS12 stores, the
formats Kafka's ssl.keystore.type and ssl.truststore.type name."""
import datetime
import ipaddress
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = "test-secret"


def _name(cn, ou=None, o=None):
    attrs = []
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _cert(subject, key, issuer, issuer_key, not_before, not_after, ca=False, san=None):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


class TestCerts:
    """Everything under one directory; attribute names are file paths."""
    __test__ = False    # not a pytest test class despite its name

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("samsa-test-ca")
        ca = _cert(ca_name, ca_key, ca_name, ca_key, now - day, now + 30 * day, ca=True)
        self.ca_pem = _write(os.path.join(directory, "ca.pem"),
                             ca.public_bytes(serialization.Encoding.PEM))
        # A PKCS12 truststore holding the CA, made by Java's keytool as
        # operators make them (Java trusts only entries keytool marks).
        self.truststore_p12 = os.path.join(directory, "truststore.p12")
        subprocess.run(["keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", self.ca_pem,
                        "-keystore", self.truststore_p12, "-storetype", "PKCS12", "-storepass",
                        PASSWORD], check=True, stdout=subprocess.DEVNULL)
        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        self.server_pem, self.server_p12, self.server_key, self.server_chain = self._identity(
            directory, "server", _name("localhost", "brokers", "samsa"), ca, ca_key,
            now - day, now + 30 * day, san)
        self.client_pem, self.client_p12, self.client_key, self.client_chain = self._identity(
            directory, "client", _name("client", "test", "samsa"), ca, ca_key,
            now - day, now + 30 * day)
        self.expired_pem, _, self.expired_key, self.expired_chain = self._identity(
            directory, "expired", _name("expired", "test", "samsa"), ca, ca_key,
            now - 10 * day, now - day)
        # The principal Kafka derives from the client certificate (RFC 2253).
        self.client_principal = "User:CN=client,OU=test,O=samsa"
        self._dir, self._ca, self._ca_key, self._now = directory, ca, ca_key, now

    def server_identity(self, name, cn="localhost"):
        """Another server key and certificate from the same CA (the same
        subject and names as the first unless cn differs): (pem, p12)."""
        day = datetime.timedelta(days=1)
        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        pem, p12, _, _ = self._identity(self._dir, name, _name(cn, "brokers", "samsa"), self._ca,
                                        self._ca_key, self._now - day, self._now + 30 * day, san)
        return pem, p12

    def _identity(self, directory, name, subject, ca, ca_key, not_before, not_after, san=None):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(subject, key, ca.subject, ca_key, not_before, not_after, san=san)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        chain_pem = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(
            serialization.Encoding.PEM)
        pem = _write(os.path.join(directory, f"{name}.pem"), key_pem + chain_pem)
        p12 = _write(os.path.join(directory, f"{name}.p12"), pkcs12.serialize_key_and_certificates(
            name.encode(), key, cert, [ca], serialization.BestAvailableEncryption(PASSWORD.encode())))
        return (pem, p12, _write(os.path.join(directory, f"{name}.key"), key_pem),
                _write(os.path.join(directory, f"{name}-chain.pem"), chain_pem))
