"""A throwaway CA and its certificates, made with the openssl command line, for the TLS tests."""

import os
import subprocess

_CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


class Authority:
    """A CA in `folder`; `server()` and `client()` return (certificate, key) paths it signed (keys mode 0600)."""

    def __init__(self, folder, name="Test study CA"):
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.cert = os.path.join(self.folder, "ca.pem")
        self.key = os.path.join(self.folder, "ca.key")
        _openssl("req", "-x509", *_CURVE, "-keyout", self.key, "-out", self.cert, "-days", "30",
                 "-subj", f"/CN={name}", cwd=self.folder)

    def server(self, name="relay", names=("DNS:relay.test", "IP:127.0.0.1")):
        """A server certificate for `names` (subjectAltName entries)."""
        return self._sign(name, f"subjectAltName={','.join(names)}\nextendedKeyUsage=serverAuth\n")

    def client(self, name="home"):
        """A client certificate named `name`."""
        return self._sign(name, "extendedKeyUsage=clientAuth\n")

    def _sign(self, name, extensions):
        key, csr, cert, ext = (os.path.join(self.folder, f"{name}.{kind}") for kind in ("key", "csr", "pem", "ext"))
        with open(ext, "w") as handle:
            handle.write(extensions)
        _openssl("req", *_CURVE, "-keyout", key, "-out", csr, "-subj", f"/CN={name}", cwd=self.folder)
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial", "-out", cert,
                 "-days", "30", "-extfile", ext, cwd=self.folder)
        os.chmod(key, 0o600)
        return cert, key
