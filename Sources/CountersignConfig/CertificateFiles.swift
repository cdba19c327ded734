/// The `certificate` and `private_key` pair that `[ldap]` and `[http]` serve TLS with.
enum CertificateFiles {
    /// Both or neither, and neither empty; errors name `<section>.certificate` or `<section>.private_key`.
    static func validate(certificate: String?, privateKey: String?, section: String) throws(ConfigurationError) {
        let certificateKey = "\(section).certificate"
        let privateKeyKey = "\(section).private_key"
        if certificate?.isEmpty == true { throw .invalid(certificateKey, "must not be empty") }
        if privateKey?.isEmpty == true { throw .invalid(privateKeyKey, "must not be empty") }
        if certificate != nil, privateKey == nil {
            throw ConfigurationError(code: .missingKey, key: privateKeyKey, message: "required together with \(certificateKey)")
        }
        if privateKey != nil, certificate == nil {
            throw ConfigurationError(code: .missingKey, key: certificateKey, message: "required together with \(privateKeyKey)")
        }
    }
}
